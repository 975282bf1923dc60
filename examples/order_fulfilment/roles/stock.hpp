// The inventory's entry for one SKU (KV bucket "inventory", key "sku.<SKU as a key token>"):
// the stock left and the quantity each order holds. Holds make reserve and release idempotent;
// they are kept for a retention period, in two generations, so the entry stays bounded however
// many orders the SKU sees.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include <msgpack.hpp>

#include "fleet/schemas/codec.hpp"

namespace fleet::demo {

struct Stock {
  static constexpr std::string_view type_name = "inventory.Stock";
  static constexpr std::uint32_t schema_version = 1;
  // Entries written before holds aged have neither field: read as a first generation.
  static constexpr std::string_view optional_fields[] = {"older", "period_start_ms"};

  std::int64_t left = 0;
  std::map<std::string, std::uint32_t> holds;  // order id -> quantity held (0 = released)
  std::map<std::string, std::uint32_t> older;  // the holds of the previous period
  std::int64_t period_start_ms = 0;            // when `holds` began (ms since the epoch)
  MSGPACK_DEFINE_MAP(left, holds, older, period_start_ms);

  // Before reading holds: once `retention_ms` has passed since the period began, the older
  // holds are forgotten and the current ones become the older. So a hold is remembered for at
  // least one retention period after its last change (at most two, while the SKU is written).
  // The stock a forgotten hold took stays taken.
  void age(std::int64_t now_ms, std::int64_t retention_ms);
  // The order's hold, nullptr when none is remembered.
  const std::uint32_t* hold(const std::string& order) const;
  // Sets the order's hold, in the current period.
  void set_hold(const std::string& order, std::uint32_t quantity);
};

// A stock entry may hold more pairs than an event's default decode bound (1,000) allows.
inline constexpr schemas::DecodeLimits stock_limits{.max_map = 200'000};

}  // namespace fleet::demo
