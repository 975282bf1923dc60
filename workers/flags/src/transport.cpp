#include "fleet/flags/transport.hpp"

#include "fleet/broker/transport_registry.hpp"
#include "fleet/flags/nats.hpp"

namespace fleet::flags {

void add_transport_flags(CLI::App& app, broker::TransportConfig& config) {
  app.add_option("--transport", config.transport, "Broker: nats (JetStream) or kafka")
      ->envname("FLEET_TRANSPORT")
      ->check(CLI::IsMember(broker::registered_transports()))
      ->capture_default_str();
  add_nats_flags(app, config.nats);
  app.add_option("--kafka", config.kafka.brokers, "Kafka bootstrap servers, comma-separated")
      ->envname("FLEET_KAFKA_BROKERS")
      ->capture_default_str();
  app.add_option("--kafka-partitions", config.kafka.partitions,
                 "Partitions of the Kafka topics fleet creates (the most processes per role)")
      ->envname("FLEET_KAFKA_PARTITIONS")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  app.add_option_function<std::int64_t>(
         "--kafka-session-timeout-ms",
         [&config](std::int64_t ms) {
           config.kafka.session_timeout = std::chrono::milliseconds(ms);
         },
         "Kafka consumer group session timeout in ms (default 10000)")
      ->envname("FLEET_KAFKA_SESSION_TIMEOUT_MS")
      ->check(CLI::Range(1'000, 300'000));
  app.add_option_function<std::int64_t>(
         "--kafka-fetch-wait-ms",
         [&config](std::int64_t ms) { config.kafka.fetch_wait = std::chrono::milliseconds(ms); },
         "Kafka consumers: longest a fetch waits at the broker for records (fetch.wait.max.ms, "
         "default 500; scripts/demo's dev cluster: 10)")
      ->envname("FLEET_KAFKA_FETCH_WAIT_MS")
      ->check(CLI::Range(1, 60'000));
  app.add_option("--kafka-assignor", config.kafka.assignor,
                 "Kafka partition assignor of fleet's consumer groups: range or roundrobin "
                 "(eager) or cooperative-sticky (incremental; aborts at close in librdkafka "
                 "before 2.3)")
      ->envname("FLEET_KAFKA_ASSIGNOR")
      ->check(CLI::IsMember({"range", "roundrobin", "cooperative-sticky"}))
      ->capture_default_str();
  app.add_option("--kafka-instance-id", config.kafka.instance_id,
                 "Kafka static group membership: a name for this process slot that its "
                 "replacement reuses (group.instance.id); {hostname} in it becomes the host "
                 "name; empty = dynamic membership")
      ->envname("FLEET_KAFKA_INSTANCE_ID");
  app.add_option("--state", config.kafka.state_url,
                 "Kafka: store of inbox and saga state, sqlite:PATH or postgresql://...")
      ->envname("FLEET_STATE_URL")
      ->capture_default_str();
}

}  // namespace fleet::flags
