// broker::connect by name: the transports register themselves when a program links their
// libraries (fleet/broker/transport_registry.hpp). This binary names neither transport's connect
// itself, so the cases below fail if a registration object is dropped at link time.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "fleet/broker/connect.hpp"
#include "fleet/broker/kafka.hpp"
#include "fleet/broker/transport_registry.hpp"

using fleet::Errc;
using fleet::broker::TransportConfig;

TEST_CASE(
    "transport registry: linking the JetStream and Kafka libraries registers nats and kafka") {
  CHECK(fleet::broker::registered_transports() == std::vector<std::string>{"kafka", "nats"});
}

TEST_CASE(
    "transport registry: an unknown transport fails with one line naming the registered ones") {
  TransportConfig config;
  config.transport = "rabbit";
  const auto transport = fleet::broker::connect(config);
  REQUIRE_FALSE(transport);
  CHECK(transport.error().code == Errc::invalid_argument);
  CHECK(transport.error().message == "unknown transport 'rabbit' (registered: kafka, nats)");
  CHECK(fleet::broker::describe(config) == "unknown transport 'rabbit'");
}

TEST_CASE("transport registry: a second registration under a taken name is refused") {
  CHECK_FALSE(fleet::broker::register_transport("nats", {}));
  CHECK(fleet::broker::registered_transports() == std::vector<std::string>{"kafka", "nats"});
}

TEST_CASE("transport registry: nats resolves to JetStream, which reports an unreachable server") {
  TransportConfig config;
  config.transport = "nats";
  config.nats.url = "nats://127.0.0.1:1";  // nothing listens on port 1: refused at once
  config.nats.max_reconnect = 0;
  CHECK(fleet::broker::describe(config) == "nats nats://127.0.0.1:1");
  const auto transport = fleet::broker::connect(config);
  REQUIRE_FALSE(transport);
  CHECK(transport.error().code == Errc::unavailable);
}

TEST_CASE("transport registry: kafka resolves to the Kafka transport on a mock cluster") {
  auto cluster = fleet::broker::kafka::MockCluster::start(1);
  REQUIRE(cluster);
  TransportConfig config;
  config.transport = "kafka";
  config.kafka.brokers = (*cluster)->bootstrap_servers();
  CHECK(fleet::broker::describe(config) == "kafka " + config.kafka.brokers);
  const auto transport = fleet::broker::connect(config);
  REQUIRE(transport);
  CHECK((*transport)->connected());
  const auto streams = (*transport)->streams();
  REQUIRE(streams);
  CHECK(streams->empty());
}

TEST_CASE("transport registry: the client name reaches every registered transport's settings") {
  TransportConfig config;
  fleet::broker::set_client_name(config, "fleet-worker/payment");
  CHECK(config.nats.name == "fleet-worker/payment");
  CHECK(config.kafka.name == "fleet-worker/payment");
}
