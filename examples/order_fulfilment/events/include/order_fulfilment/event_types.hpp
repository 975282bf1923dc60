// The order_fulfilment application registers its own event types: fleet's (Registry::builtin():
// the saga step and lifecycle types, bench payloads) plus the order events. Whatever decodes,
// validates or renders this application's events by type name (its operator command fleet-demo,
// the tests) uses this registry.
#pragma once

#include "fleet/schemas/registry.hpp"
#include "order_fulfilment/orders.hpp"

namespace order_fulfilment {

// Adds the order events to `registry`.
inline void add_event_types(fleet::schemas::Registry& registry) {
  registry.add<fleet::schemas::OrderPlaced>();
}

// fleet's own event types and the order events, built once.
inline const fleet::schemas::Registry& event_types() {
  static const fleet::schemas::Registry registry = [] {
    fleet::schemas::Registry r = fleet::schemas::Registry::builtin();
    add_event_types(r);
    return r;
  }();
  return registry;
}

}  // namespace order_fulfilment
