#include "fleet/broker/connect.hpp"

namespace fleet::broker {

Result<std::unique_ptr<Transport>> connect(const TransportConfig& config) {
  if (config.transport == "nats") return jetstream::connect(config.nats);
  if (config.transport == "kafka") return kafka::connect(config.kafka);
  return fail(Errc::invalid_argument,
              "unknown transport '" + config.transport + "' (expected nats or kafka)");
}

std::string describe(const TransportConfig& config) {
  if (config.transport == "kafka") return "kafka " + config.kafka.brokers;
  return "nats " + jetstream::without_secrets(config.nats.url);
}

void set_client_name(TransportConfig& config, const std::string& name) {
  config.nats.name = name;
  config.kafka.name = name;
}

}  // namespace fleet::broker
