// The order-fulfilment demo: reserve inventory -> charge payment -> schedule shipping,
// compensated in reverse order, plus the order_summary projection.
//
//   orders         the saga's orchestrator: orders.placed, saga.orders.reply, saga.orders.timer
//   inventory      inventory.reserve / inventory.release; stock per SKU in KV bucket "inventory"
//   payment        payment.charge / payment.refund; declines above the amount limit
//   shipping       shipping.schedule / shipping.cancel; refuses one region
//   order_summary  SQLite read model of saga.orders.lifecycle.> (FLEET_ORDER_SUMMARY_DB)
#pragma once

#include <vector>

#include "fleet/broker/config.hpp"
#include "fleet/runtime/worker_main.hpp"
#include "fleet/saga/definition.hpp"
#include "rules.hpp"

namespace fleet::demo {

inline constexpr const char* orders_stream = "ORDERS";  // orders.>
inline constexpr const char* saga_stream = "SAGA";      // saga.>
inline constexpr const char* steps_stream = "STEPS";    // inventory.>, payment.>, shipping.>
inline constexpr const char* placed_subject = "orders.placed";

saga::Definition order_saga(const Rules& rules);
std::vector<broker::StreamConfig> streams();

runtime::Role orders_role(const Rules& rules);
runtime::Role inventory_role(const Rules& rules);
runtime::Role payment_role(const Rules& rules);
runtime::Role shipping_role(const Rules& rules);
runtime::Role order_summary_role();

std::vector<runtime::Role> roles(const Rules& rules);

}  // namespace fleet::demo
