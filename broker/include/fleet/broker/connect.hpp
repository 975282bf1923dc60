// Choosing the broker per deployment: one setting (`transport`) picks JetStream or Kafka, and
// everything above the broker layer only sees a Transport. Flags: transport_flags.hpp.
#pragma once

#include <memory>
#include <string>

#include "fleet/broker/jetstream.hpp"
#include "fleet/broker/kafka.hpp"
#include "fleet/broker/transport.hpp"

namespace fleet::broker {

struct TransportConfig {
  std::string transport = "nats";  // "nats" (JetStream) or "kafka"
  jetstream::Config nats;          // used when transport == "nats"
  kafka::Config kafka;             // used when transport == "kafka"
};

// Connects to the configured broker; Errc::invalid_argument for an unknown transport.
Result<std::unique_ptr<Transport>> connect(const TransportConfig& config);

// "nats nats://host:4222" or "kafka host:9092", without secrets: for logs and error messages.
std::string describe(const TransportConfig& config);

// Names the client for the broker (connection name / client.id), e.g. "fleet-worker/payment".
void set_client_name(TransportConfig& config, const std::string& name);

}  // namespace fleet::broker
