#include "fleet/saga/orchestrator.hpp"
#include "fleet/schemas/codec.hpp"
#include "order_fulfilment/orders.hpp"
#include "roles.hpp"

namespace fleet::demo {

saga::Definition order_saga(const Rules& rules) {
  const std::chrono::milliseconds timeout(rules.step_timeout_ms);
  const std::chrono::milliseconds start_timeout(rules.step_start_timeout_ms);
  return {.name = "order_fulfilment",
          .subject_prefix = "saga.orders",
          .steps = {
              {.name = "inventory",
               .command_subject = "inventory.reserve",
               .compensation_subject = "inventory.release",
               .timeout = timeout,
               .start_timeout = start_timeout},
              {.name = "payment",
               .command_subject = "payment.charge",
               .compensation_subject = "payment.refund",
               .timeout = timeout,
               .start_timeout = start_timeout},
              {.name = "shipping",
               .command_subject = "shipping.schedule",
               .compensation_subject = "shipping.cancel",
               .timeout = timeout,
               .start_timeout = start_timeout},
          }};
}

std::vector<broker::StreamConfig> streams() {
  return {{.name = orders_stream, .subjects = {"orders.>"}},
          {.name = saga_stream, .subjects = {"saga.>"}},
          {.name = steps_stream, .subjects = {"inventory.>", "payment.>", "shipping.>"}}};
}

runtime::Role orders_role(const Rules& rules) {
  return {.name = "orders",
          .description = "order saga orchestrator (reserve -> charge -> ship, compensated)",
          .bindings =
              [rules](broker::Transport& transport, const runtime::RoleSettings& settings) {
                return saga::orchestrator_bindings(
                    transport, order_saga(rules),
                    {.role = "orders",
                     .start_stream = orders_stream,
                     .start_subject = placed_subject,
                     .saga_stream = saga_stream,
                     .steps_stream = steps_stream,
                     .start = [](const schemas::Envelope& envelope) -> Result<saga::Start> {
                       if (envelope.meta.type != schemas::OrderPlaced::type_name) {
                         return fail(Errc::decode,
                                     "expected " + std::string(schemas::OrderPlaced::type_name) +
                                         ", got " + envelope.meta.type);
                       }
                       auto order = schemas::decode<schemas::OrderPlaced>(
                           envelope.meta.schema_version, envelope.body);
                       if (!order) return fail(order.error());
                       if (order->order_id.empty()) return fail(Errc::decode, "order_id is empty");
                       // The steps read the saga's input at the current version.
                       std::string upcasted;
                       std::string_view body = envelope.body;
                       if (envelope.meta.schema_version != schemas::OrderPlaced::schema_version) {
                         upcasted = schemas::encode(*order);
                         body = upcasted;
                       }
                       return saga::Start{.saga_id = order->order_id,
                                          .data = std::vector<char>(body.begin(), body.end()),
                                          .started_at = envelope.meta.occurred_at};
                     }},
                    settings);
              },
          .streams = streams()};
}

std::vector<runtime::Role> roles(const Rules& rules) {
  return {orders_role(rules), inventory_role(rules), payment_role(rules), shipping_role(rules),
          order_summary_role()};
}

}  // namespace fleet::demo
