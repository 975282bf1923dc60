// In-process transport for handler unit tests and the acceptance suite. A Broker plays the
// server: streams with sequences and dedup windows, durable consumers with ack wait and
// redelivery. Transports connected to one Broker see the same streams, so "restarting a
// process" is dropping one transport and connecting another.
#pragma once

#include <memory>

#include "fleet/broker/transport.hpp"

namespace fleet::broker::memory {

class Broker;

std::shared_ptr<Broker> make_broker();
std::unique_ptr<Transport> connect(std::shared_ptr<Broker> broker);

}  // namespace fleet::broker::memory
