// The main() of every worker binary: flags (each also from FLEET_* env), logging, signals,
// connect, run the chosen role until SIGTERM/SIGINT, drain, exit 0.
//
//   <program> --role NAME [--nats URL] [--concurrency N] [--max-attempts N] ...
//
// Unknown role or a bad value: one line on stderr, exit 2. Broker unreachable at start: exit 1.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "fleet/broker/config.hpp"
#include "fleet/broker/transport.hpp"
#include "fleet/runtime/binding.hpp"

namespace fleet::runtime {

// Per-process settings from flags, handed to a role so its bindings can honour them.
struct RoleSettings {
  int concurrency = 8;
  int max_in_flight = 64;
  RetryPolicy retry;
  std::chrono::milliseconds ack_wait{30'000};
  std::chrono::milliseconds timeout{0};  // per handler attempt; 0 = none
  bool inbox = true;
  // Saga orchestrators: sagas this process keeps active at once; start events beyond it wait
  // in the stream (see workers/saga/orchestrator.hpp). 0 = no cap.
  int max_active_sagas = 256;
};

struct Role {
  std::string name;
  std::string description;
  // May open what the handlers need on the broker (KV buckets); an error stops start-up.
  std::function<Result<std::vector<Binding>>(broker::Transport&, const RoleSettings&)> bindings;
  // Streams the role reads from, ensured at start-up (idempotent).
  std::vector<broker::StreamConfig> streams;
};

int worker_main(int argc, char** argv, const std::string& program, const std::vector<Role>& roles);

}  // namespace fleet::runtime
