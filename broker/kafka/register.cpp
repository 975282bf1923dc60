// Registers the Kafka transport as "kafka" for broker::connect. broker/CMakeLists.txt links this
// file as an object file into every program that links fleet::broker_kafka, so the registration
// is never dropped as an unreferenced archive member.
#include "fleet/broker/kafka.hpp"
#include "fleet/broker/transport_registry.hpp"

namespace fleet::broker::kafka {
namespace {

[[maybe_unused]] const bool registered = register_transport(
    "kafka",
    {.connect = [](const TransportConfig& config) { return connect(config.kafka); },
     .describe = [](const TransportConfig& config) { return "kafka " + config.kafka.brokers; },
     .set_client_name = [](TransportConfig& config,
                           const std::string& name) { config.kafka.name = name; }});

}  // namespace
}  // namespace fleet::broker::kafka
