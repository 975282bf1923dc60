// Choosing the broker per deployment: one setting (`transport`) names a registered transport,
// and everything above the broker layer only sees a Transport. A transport library registers
// itself when a program links it (fleet::broker_jetstream as "nats", fleet::broker_kafka as
// "kafka"; fleet::broker links both): see transport_registry.hpp. This header and connect() are
// in fleet::broker_api, so choosing needs no broker client library; a program connects only to
// the transports it links. Flags: fleet/flags/transport.hpp (workers/flags/).
#pragma once

#include <memory>
#include <string>

#include "fleet/broker/jetstream_config.hpp"
#include "fleet/broker/kafka_config.hpp"
#include "fleet/broker/transport.hpp"

namespace fleet::broker {

// The settings of every transport fleet ships, plain data; only the chosen one is used.
struct TransportConfig {
  std::string transport = "nats";  // a registered name: "nats" (JetStream) or "kafka"
  jetstream::Config nats;          // used when transport == "nats"
  kafka::Config kafka;             // used when transport == "kafka"
};

// Connects to the configured broker. Errc::invalid_argument for a name no linked library
// registered, with a one-line message naming the registered ones:
//   unknown transport 'rabbit' (registered: kafka, nats)
Result<std::unique_ptr<Transport>> connect(const TransportConfig& config);

// "nats nats://host:4222" or "kafka host:9092", without secrets: for logs and error messages.
// "unknown transport 'NAME'" for a name no linked library registered.
std::string describe(const TransportConfig& config);

// Names the client for the broker (connection name / client.id), e.g. "fleet-worker/payment":
// every registered transport's setting, so the name holds whichever is chosen later.
void set_client_name(TransportConfig& config, const std::string& name);

}  // namespace fleet::broker
