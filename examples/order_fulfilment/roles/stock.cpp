#include "stock.hpp"

namespace fleet::demo {

const std::uint32_t* Stock::hold(const std::string& order) const {
  if (auto it = holds.find(order); it != holds.end()) return &it->second;
  if (auto it = older.find(order); it != older.end()) return &it->second;
  return nullptr;
}

void Stock::set_hold(const std::string& order, std::uint32_t quantity) {
  older.erase(order);
  holds[order] = quantity;
}

void Stock::age(std::int64_t now_ms, std::int64_t retention_ms) {
  if (now_ms - period_start_ms < retention_ms) return;
  older = std::move(holds);
  holds.clear();
  period_start_ms = now_ms;
}

}  // namespace fleet::demo
