// payment and shipping: a business rule may refuse the step; otherwise the step is recorded in
// the role's ledger bucket (ledger.hpp), which makes do / undo idempotent and ordered.
#include <functional>
#include <memory>
#include <optional>

#include "fault.hpp"
#include "fleet/saga/participant.hpp"
#include "fleet/schemas/codec.hpp"
#include "ledger.hpp"
#include "order_fulfilment/orders.hpp"
#include "roles.hpp"

namespace fleet::demo {
namespace {

using Refuse = std::function<std::optional<std::string>(const schemas::OrderPlaced&)>;

runtime::Role ledger_role(const Rules& rules, std::size_t step, std::string description,
                          Refuse refuse) {
  const std::string name = order_saga(rules).steps.at(step).name;
  return {.name = name,
          .description = std::move(description),
          .bindings = [rules, step, name, refuse](broker::Transport& transport,
                                                  const runtime::RoleSettings& settings)
              -> Result<std::vector<runtime::Binding>> {
            auto opened = transport.key_value({.name = name});
            if (!opened) return fail(opened.error());
            auto ledger = std::make_shared<StagedLedger>(std::move(*opened));
            const saga::Definition definition = order_saga(rules);
            // The ledger makes do and undo idempotent: the inbox would only add two KV calls per
            // command.
            auto no_inbox = settings;
            no_inbox.inbox = false;
            return std::vector<runtime::Binding>{saga::participant_binding(
                definition, step, steps_stream, no_inbox,
                [rules, ledger, refuse, name](const schemas::StepCommand& command,
                                              runtime::Context& context) {
                  if (downstream_down(rules.outage_file, rules.outage_roles, name)) {
                    return downstream_outage();
                  }
                  if (inject_fault(rules.fault_rate)) return injected_fault();
                  simulate_work(rules.step_work_ms);
                  // Any saga id makes a valid key, one per id (the orchestrator's rule).
                  const std::string key = "saga." + broker::key_token(command.saga_id);
                  if (command.compensate) {
                    auto undone = ledger_undo(ledger->bucket(), key);
                    if (!undone) return runtime::Outcome::failed(undone.error(), "store");
                    saga::reply(context, command, saga::outcome::compensated);
                    return runtime::Outcome::ok();
                  }
                  auto order = schemas::decode<schemas::OrderPlaced>(
                      std::string_view(command.data.data(), command.data.size()));
                  if (!order) return runtime::Outcome::permanent(order.error().message, "decode");
                  if (auto reason = refuse(*order)) {
                    saga::reply(context, command, saga::outcome::failed, *reason);
                    return runtime::Outcome::ok();
                  }
                  auto done = ledger->do_step(context, key);
                  if (!done) return runtime::Outcome::failed(done.error(), "store");
                  if (*done == LedgerDo::refused_undone) {
                    saga::reply(context, command, saga::outcome::failed, "already cancelled");
                  } else {
                    saga::reply(context, command, saga::outcome::done);
                  }
                  return runtime::Outcome::ok();
                })};
          },
          .streams = streams()};
}

}  // namespace

runtime::Role payment_role(const Rules& rules) {
  return ledger_role(rules, 1, "charges orders; declines above the amount limit; refunds",
                     [limit = rules.amount_limit_cents](
                         const schemas::OrderPlaced& order) -> std::optional<std::string> {
                       if (order.amount_cents <= limit) return std::nullopt;
                       return "declined: " + std::to_string(order.amount_cents) +
                              " cents is above the limit of " + std::to_string(limit);
                     });
}

runtime::Role shipping_role(const Rules& rules) {
  return ledger_role(rules, 2, "schedules shipments; refuses one region; cancels",
                     [region = rules.refused_region](
                         const schemas::OrderPlaced& order) -> std::optional<std::string> {
                       if (order.region != region) return std::nullopt;
                       return "refused: no shipping to " + region;
                     });
}

}  // namespace fleet::demo
