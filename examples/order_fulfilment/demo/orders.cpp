#include "orders.hpp"

#include <random>

namespace fleet::demo {

std::vector<schemas::OrderPlaced> plan_orders(std::uint64_t count, const std::string& run,
                                              const Rules& rules) {
  std::mt19937_64 random(std::hash<std::string>{}(run));
  const char* regions[] = {"north", "south", "east", "west"};
  std::vector<schemas::OrderPlaced> orders;
  orders.reserve(count);
  for (std::uint64_t n = 0; n < count; ++n) {
    const auto roll = random() % 100;
    schemas::OrderPlaced order{.order_id = "o-" + run + "-" + std::to_string(n),
                               .customer_id = "c-" + std::to_string(random() % 1000),
                               .sku = "sku-" + std::to_string(random() % 100),
                               .quantity = static_cast<std::uint32_t>(1 + random() % 3),
                               .amount_cents = static_cast<std::int64_t>(500 + random() % 20'000),
                               .region = regions[random() % 4]};
    if (roll < 5) order.amount_cents = rules.amount_limit_cents + 1 + random() % 10'000;
    if (roll >= 5 && roll < 9) order.region = rules.refused_region;
    orders.push_back(std::move(order));
  }
  return orders;
}

std::vector<std::string> check_rules(const std::vector<schemas::OrderPlaced>& orders,
                                     const std::map<std::string, Ending>& endings,
                                     const Rules& rules) {
  std::vector<std::string> wrong;
  std::map<std::string, std::int64_t> sold;
  for (const auto& order : orders) {
    auto it = endings.find(order.order_id);
    if (it == endings.end()) continue;  // not ended: counted as lost, not here
    const Ending& end = it->second;
    const bool declined = order.amount_cents > rules.amount_limit_cents;
    const bool refused = order.region == rules.refused_region;
    if (end.status == "completed") {
      sold[order.sku] += order.quantity;
      if (declined || refused) {
        wrong.push_back(order.order_id + ": completed although " +
                        (declined ? "above the amount limit" : "in the refused region"));
      }
      continue;
    }
    const bool explained = end.reason.starts_with("inventory: out of stock") ||
                           (declined && end.reason.starts_with("payment: declined")) ||
                           (refused && end.reason.starts_with("shipping: refused"));
    if (!explained) wrong.push_back(order.order_id + ": failed: " + end.reason);
  }
  for (const auto& [sku, quantity] : sold) {
    if (quantity > rules.stock_per_sku) {
      wrong.push_back(sku + ": sold " + std::to_string(quantity) + " of a stock of " +
                      std::to_string(rules.stock_per_sku));
    }
  }
  return wrong;
}

}  // namespace fleet::demo
