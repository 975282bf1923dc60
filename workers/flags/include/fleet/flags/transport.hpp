// The broker flags every fleet program shares (fleet-worker, fleet, fleet-demo, fleet-bench),
// each also read from the environment. Library fleet::flags (workers/flags/).
//
//   --transport nats|kafka     FLEET_TRANSPORT      which broker (default nats)
//   NATS: see fleet/flags/nats.hpp (--nats URL, credentials, TLS, --stream-replicas)
//   --kafka HOST:PORT[,...]    FLEET_KAFKA_BROKERS  bootstrap servers
//   --kafka-partitions N       FLEET_KAFKA_PARTITIONS  partitions of created topics
//   --kafka-session-timeout-ms N  FLEET_KAFKA_SESSION_TIMEOUT_MS  consumer group session timeout
//   --kafka-fetch-wait-ms N    FLEET_KAFKA_FETCH_WAIT_MS  fetch.wait.max.ms
//   (kafka::Config::fetch_wait)
//   --kafka-assignor NAME      FLEET_KAFKA_ASSIGNOR  range (default), roundrobin or
//                                                   cooperative-sticky (kafka::Config::assignor)
//   --kafka-instance-id NAME   FLEET_KAFKA_INSTANCE_ID  static group membership for this process
//                                                   slot (see kafka::Config::instance_id)
//   --state URL                FLEET_STATE_URL      Kafka only: where inbox and saga state live
//                                                   (sqlite:PATH or postgresql://...)
#pragma once

#include <CLI/CLI.hpp>

#include "fleet/broker/connect.hpp"

namespace fleet::flags {

// Adds the flags above to `app`, each writing into `config`. `--transport` accepts the names the
// linked transport libraries registered (fleet/broker/transport_registry.hpp).
void add_transport_flags(CLI::App& app, broker::TransportConfig& config);

}  // namespace fleet::flags
