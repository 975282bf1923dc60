// order_summary: keeps the SQLite read model (../projection/) of every order's saga,
// at FLEET_ORDER_SUMMARY_DB (default order_summary.db in the working directory).
#include <memory>

#include "fleet/runtime/handler.hpp"
#include "order_fulfilment/order_summary.hpp"
#include "roles.hpp"

namespace fleet::demo {

runtime::Role order_summary_role() {
  return {.name = "order_summary",
          .description = "SQLite read model of every order's saga (FLEET_ORDER_SUMMARY_DB)",
          .bindings = [](broker::Transport&, const runtime::RoleSettings& settings)
              -> Result<std::vector<runtime::Binding>> {
            auto opened = projection::OrderSummary::open(projection::default_path());
            if (!opened) return fail(opened.error());
            auto summary = std::make_shared<projection::OrderSummary>(std::move(*opened));
            runtime::Binding binding = settings.apply({
                .role = "order_summary",
                .stream = saga_stream,
                .subject = "saga.orders.lifecycle.>",
                .handler = runtime::typed<schemas::SagaLifecycle>(
                    [summary](const schemas::SagaLifecycle& event, runtime::Context& context) {
                      auto applied = summary->apply(event, context.event().occurred_at);
                      if (!applied) return runtime::Outcome::failed(applied.error(), "store");
                      return runtime::Outcome::ok();
                    }),
            });
            // Versions make it idempotent already; the inbox would only add two KV calls.
            binding.inbox = false;
            return std::vector<runtime::Binding>{std::move(binding)};
          },
          .streams = streams()};
}

}  // namespace fleet::demo
