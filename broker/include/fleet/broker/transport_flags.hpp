// The broker flags every fleet program shares (fleet-worker, fleet, fleet-demo, fleet-bench),
// each also read from the environment. Header-only; the including target links CLI11.
//
//   --transport nats|kafka     FLEET_TRANSPORT      which broker (default nats)
//   NATS: see jetstream_flags.hpp (--nats URL, credentials, TLS, --stream-replicas)
//   --kafka HOST:PORT[,...]    FLEET_KAFKA_BROKERS  bootstrap servers
//   --kafka-partitions N       FLEET_KAFKA_PARTITIONS  partitions of created topics
//   --kafka-session-timeout-ms N  FLEET_KAFKA_SESSION_TIMEOUT_MS  consumer group session timeout
//   --kafka-instance-id NAME   FLEET_KAFKA_INSTANCE_ID  static group membership for this process
//                                                   slot (see kafka::Config::instance_id)
//   --state URL                FLEET_STATE_URL      Kafka only: where inbox and saga state live
//                                                   (sqlite:PATH or postgresql://...)
#pragma once

#include <CLI/CLI.hpp>

#include "fleet/broker/connect.hpp"
#include "fleet/broker/jetstream_flags.hpp"

namespace fleet::broker {

inline void add_transport_flags(CLI::App& app, TransportConfig& config) {
  app.add_option("--transport", config.transport, "Broker: nats (JetStream) or kafka")
      ->envname("FLEET_TRANSPORT")
      ->check(CLI::IsMember({"nats", "kafka"}))
      ->capture_default_str();
  jetstream::add_connection_flags(app, config.nats);
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
  app.add_option("--kafka-instance-id", config.kafka.instance_id,
                 "Kafka static group membership: a name for this process slot that its "
                 "replacement reuses (group.instance.id); empty = dynamic membership")
      ->envname("FLEET_KAFKA_INSTANCE_ID");
  app.add_option("--state", config.kafka.state_url,
                 "Kafka: store of inbox and saga state, sqlite:PATH or postgresql://...")
      ->envname("FLEET_STATE_URL")
      ->capture_default_str();
}

}  // namespace fleet::broker
