// Registers the JetStream transport as "nats" for broker::connect. broker/CMakeLists.txt links
// this file as an object file into every program that links fleet::broker_jetstream, so the
// registration is never dropped as an unreferenced archive member.
#include "fleet/broker/jetstream.hpp"
#include "fleet/broker/transport_registry.hpp"

namespace fleet::broker::jetstream {
namespace {

[[maybe_unused]] const bool registered = register_transport(
    "nats",
    {.connect = [](const TransportConfig& config) { return connect(config.nats); },
     .describe =
         [](const TransportConfig& config) { return "nats " + without_secrets(config.nats.url); },
     .set_client_name = [](TransportConfig& config,
                           const std::string& name) { config.nats.name = name; }});

}  // namespace
}  // namespace fleet::broker::jetstream
