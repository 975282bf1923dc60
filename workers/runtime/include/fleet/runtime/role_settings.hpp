// The per-process settings a role's bindings honour (from fleet-worker's flags), and the one
// place they are put on a Binding.
#pragma once

#include <chrono>
#include <memory>

#include "fleet/runtime/binding.hpp"
#include "fleet/runtime/circuit_breaker.hpp"
#include "fleet/runtime/flow_control.hpp"
#include "fleet/runtime/metrics.hpp"
#include "fleet/runtime/retry_policy.hpp"

namespace fleet::runtime {

// Per-process settings from flags, handed to a role so its bindings can honour them.
struct RoleSettings {
  int concurrency = 8;
  int max_in_flight = 64;
  int max_settling = 64;  // see Binding::max_settling
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

  // `binding` with these settings put on it: retry, concurrency, max_in_flight, max_settling,
  // ack_wait, timeout and inbox. Everything else it keeps (names, handler, middleware, durable,
  // max_ack_pending, admission). A role sets what it knows better afterwards, e.g. `inbox =
  // false` for a handler that is idempotent by itself. The flow control is not put here:
  // worker_main adds it to every binding of the role.
  Binding apply(Binding binding) const {
    binding.retry = retry;
    binding.concurrency = concurrency;
    binding.max_in_flight = max_in_flight;
    binding.max_settling = max_settling;
    binding.ack_wait = ack_wait;
    binding.timeout = timeout;
    binding.inbox = inbox;
    return binding;
  }
};

}  // namespace fleet::runtime
