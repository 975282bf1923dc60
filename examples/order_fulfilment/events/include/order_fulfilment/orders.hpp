// The demo domain: an order shop. Field order is the wire order; every field is required unless
// it is a std::optional (added later: older events do not carry it).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <msgpack.hpp>

namespace fleet::schemas {

// A customer placed an order; the first event of every order conversation.
struct OrderPlaced {
  static constexpr std::string_view type_name = "orders.OrderPlaced";
  static constexpr std::uint32_t schema_version = 1;

  std::string order_id;
  std::string customer_id;
  std::string sku;
  std::uint32_t quantity = 0;
  std::int64_t amount_cents = 0;  // integer cents: money never goes through floating point
  std::string region;
  std::optional<std::string> currency;  // ISO 4217; absent on orders placed before it existed

  bool operator==(const OrderPlaced&) const = default;
  MSGPACK_DEFINE_MAP(order_id, customer_id, sku, quantity, amount_cents, region, currency);
};

}  // namespace fleet::schemas
