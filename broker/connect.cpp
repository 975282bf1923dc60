#include "fleet/broker/connect.hpp"

#include "registered_transports.hpp"

namespace fleet::broker {
namespace {

std::string unknown(const std::string& name) {
  std::string registered;
  for (const auto& known : registered_transports()) {
    registered += (registered.empty() ? "" : ", ") + known;
  }
  if (registered.empty()) registered = "none; link fleet::broker_jetstream or fleet::broker_kafka";
  return "unknown transport '" + name + "' (registered: " + registered + ")";
}

}  // namespace

Result<std::unique_ptr<Transport>> connect(const TransportConfig& config) {
  const auto factory = find_transport(config.transport);
  if (!factory) return fail(Errc::invalid_argument, unknown(config.transport));
  return factory->connect(config);
}

std::string describe(const TransportConfig& config) {
  const auto factory = find_transport(config.transport);
  if (!factory) return "unknown transport '" + config.transport + "'";
  return factory->describe(config);
}

void set_client_name(TransportConfig& config, const std::string& name) {
  for (const auto& factory : all_transports()) factory.set_client_name(config, name);
}

}  // namespace fleet::broker
