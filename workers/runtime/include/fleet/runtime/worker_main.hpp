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
#include "fleet/runtime/role_settings.hpp"

namespace fleet::runtime {

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
