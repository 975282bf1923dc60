// The main() of every worker binary: flags (each also from FLEET_* env), logging, signals,
// connect, run the chosen role until SIGTERM/SIGINT, drain, exit 0.
//
//   <program> --role NAME [--nats URL] [--concurrency N] [--max-attempts N] ...
//
// Unknown role or a bad value: one line on stderr, exit 2. Broker unreachable at start: exit 1.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "fleet/broker/config.hpp"
#include "fleet/broker/transport.hpp"
#include "fleet/runtime/binding.hpp"
#include "fleet/runtime/circuit_breaker.hpp"
#include "fleet/runtime/flow_control.hpp"
#include "fleet/runtime/metrics.hpp"

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
  // Flow control, put on every binding of the role by worker_main (roles need not do anything):
  CircuitBreakerConfig circuit_breaker;  // off unless --breaker-failures / --breaker-failure-rate
  RateLimitConfig rate_limit;            // off unless --rate-limit
  bool rate_limit_per_role = false;      // --rate-limit-scope role: shared through the broker's KV
  // The process's metrics, for roles that count more than the worker does (saga orchestrators).
  // Set by worker_main before the role's bindings are made; may be null (tests, tools).
  std::shared_ptr<Metrics> metrics;
};

// The KV bucket where workers report circuits that are not closed (`fleet status` reads it);
// key "<role>.<binding>.<worker>" (each escaped with broker::key_token), value JSON.
// Entries expire this long after their last report; workers re-report every minute while a
// circuit is not closed, so a dead worker's entry goes away on its own.
inline constexpr const char* circuits_bucket = "fleet_circuits";
inline constexpr std::chrono::minutes circuits_bucket_ttl{10};
// The KV bucket holding role-wide rate-limit token buckets, key = the role.
inline constexpr const char* rate_limits_bucket = "fleet_rate_limits";

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
