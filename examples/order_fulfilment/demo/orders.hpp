// The demo's orders and the check of their outcomes against the demo rules (rules.hpp).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "order_fulfilment/orders.hpp"
#include "rules.hpp"

namespace fleet::demo {

// `count` orders with ids "o-<run>-<n>" (the demo recognises its own sagas by that prefix): 100
// SKUs, quantities 1..3, about 1 in 20 above the payment limit and 1 in 25 to the refused region.
// Deterministic for a given run id.
std::vector<schemas::OrderPlaced> plan_orders(std::uint64_t count, const std::string& run,
                                              const Rules& rules);

struct Ending {
  std::string status;  // completed | failed
  std::string reason;
  double latency_ms = 0;  // order placed -> saga ended
};

// Orders whose ending the rules do not allow: completed although declined or refused, failed
// for a reason the rules do not give, or a SKU sold beyond its stock. One line each.
std::vector<std::string> check_rules(const std::vector<schemas::OrderPlaced>& orders,
                                     const std::map<std::string, Ending>& endings,
                                     const Rules& rules);

}  // namespace fleet::demo
