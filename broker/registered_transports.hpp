// Lookups in the transport registry, for connect.cpp (internal to fleet::broker_api).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "fleet/broker/transport_registry.hpp"

namespace fleet::broker {

// A copy of the factory registered under `name`, if any.
std::optional<TransportFactory> find_transport(const std::string& name);

// Copies of every registered factory, in name order.
std::vector<TransportFactory> all_transports();

}  // namespace fleet::broker
