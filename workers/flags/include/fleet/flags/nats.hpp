// The NATS connection flags every fleet program shares (fleet-worker, fleet, fleet-demo), each
// also read from the environment. Library fleet::flags (workers/flags/).
//
//   --nats URL[,URL...]      FLEET_NATS_URL         servers; any of them will do
//   --stream-replicas N      FLEET_STREAM_REPLICAS  replicas of created streams and KV buckets
//   --nats-user / --nats-password  FLEET_NATS_USER / FLEET_NATS_PASSWORD
//   --nats-token             FLEET_NATS_TOKEN
//   --nats-creds FILE        FLEET_NATS_CREDS       NATS .creds file
//   --nats-tls               FLEET_NATS_TLS         TLS with the system's CAs
//   --nats-ca FILE           FLEET_NATS_CA          CA bundle (implies TLS)
//   --nats-cert / --nats-key FLEET_NATS_CERT / FLEET_NATS_KEY  client certificate (mutual TLS)
//
// Secrets have no default shown in --help; prefer the environment to flags for them (flags are
// visible in the process list).
#pragma once

#include <CLI/CLI.hpp>

#include "fleet/broker/jetstream_config.hpp"

namespace fleet::flags {

// Adds the flags above to `app`, each writing into `config`.
void add_nats_flags(CLI::App& app, broker::jetstream::Config& config);

}  // namespace fleet::flags
