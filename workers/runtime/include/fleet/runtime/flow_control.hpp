// Flow control for one binding: a circuit breaker and a rate limit. Each is a middleware (put in
// front of Binding::middleware, so it sees every message before the handler and every final
// Outcome after the in-process retries) plus an admission function the fetch thread asks before
// each fetch (composed with the binding's own by taking the smaller answer), so that a binding
// that may not run handlers stops taking messages out of the stream: they wait there,
// unattempted, and another process of the role may take them.
//
// Add the rate limit first, then the breaker: the breaker is then outermost and a message it
// holds takes no rate token. worker_main does this from flags (--breaker-*, --rate-limit).
//
// What "held" costs. Messages the breaker cannot let through (open; half-open with the probe
// out) wait in process on their lane thread, which restarts the broker's ack-wait clock every
// `heartbeat` (Context::heartbeat = in-progress), so they use no delivery attempt. A message
// whose counted failure opened the circuit, and a failed probe, are held the same way and run
// again as a later probe instead of being handed back (a nak would count as a delivery, and
// JetStream hands redeliveries out first, so the same few messages would burn their attempts
// probe after probe) — up to CircuitBreakerConfig::probes_per_message failed probes, then it is
// handed back as an ordinary failure and another message probes. The costs: (1) messages fetched
// earlier and still queued behind a held one in its lane get no heartbeat; if the outage outlasts
// the ack wait the broker redelivers them (one delivery each, once per outage) when somebody
// fetches again; at most max_in_flight - concurrency messages per process. (2) Failures before the
// circuit opens are ordinary failures: up to N-1 messages per process use one attempt each. (3) On
// SIGTERM held messages wait out the drain timeout and are redelivered after the ack wait (one
// delivery). (4) A crash redelivers them after the ack wait (one delivery), like any in-flight
// message.
#pragma once

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "fleet/broker/key_value.hpp"
#include "fleet/runtime/binding.hpp"
#include "fleet/runtime/circuit_breaker.hpp"
#include "fleet/runtime/metrics.hpp"

namespace fleet::runtime {

using Admission = std::function<std::size_t()>;

// The smaller of both answers; either may be empty (no limit).
Admission all_of(Admission a, Admission b);

struct CircuitHooks {
  std::shared_ptr<Metrics> metrics;  // fleet_circuit_state{role,binding}; may be null
  // Called on every transition (after the log line) and every `report_every` while not closed,
  // with the reason of the last transition and its time (RFC 3339), under the circuit's lock:
  // must not block (the status bucket's put_async).
  std::function<void(CircuitState state, const std::string& reason, const std::string& since)>
      report;
  std::chrono::milliseconds report_every{60'000};
};

// Puts a circuit breaker on `binding` (no-op when !config.enabled()). Logs each transition at
// warn (opened) or info (half-open, closed) with role, binding (the subject) and reason.
// Held messages heartbeat every ack_wait / 3.
void add_circuit_breaker(Binding& binding, const CircuitBreakerConfig& config,
                         CircuitHooks hooks = {});

struct RateLimitConfig {
  double per_second = 0;  // handler starts a second; 0 = off
  double burst = 0;       // starts allowed at once after a quiet spell; 0 = max(1, per_second / 10)
  double effective_burst() const { return burst > 0 ? burst : std::max(1.0, per_second / 10); }
};

// Hands out handler starts. Thread-safe; shared by every binding of a role in one process.
class RateLimiter {
 public:
  virtual ~RateLimiter() = default;
  // Blocks until this message may start (excess messages wait, never fail); heartbeats the
  // context while waiting so the broker does not redeliver it.
  virtual void acquire(Context& context) = 0;
  // How many messages the fetcher may take now (those it could start soon, less those waiting).
  virtual std::size_t admission() = 0;
};

// At most per_second starts a second in this process: over any span of T seconds,
// starts <= burst + per_second * T.
std::shared_ptr<RateLimiter> local_rate_limiter(const RateLimitConfig& config);

// At most per_second starts a second across every process sharing `key` in `bucket` (a token
// bucket kept in the KV entry, taken with compare-and-set). Each process takes up to `chunk`
// tokens at a time (0 = max(1, per_second / 20)), so over any span of T seconds all processes
// together start at most burst + per_second * T + processes * chunk — if their clocks agree: the
// refill uses wall-clock time, and clock skew between hosts adds about skew * per_second. When the
// bucket cannot be reached, messages wait (and heartbeat) until it can.
std::shared_ptr<RateLimiter> shared_rate_limiter(const RateLimitConfig& config,
                                                 std::shared_ptr<broker::KeyValue> bucket,
                                                 std::string key, double chunk = 0);

// Puts `limiter` on `binding`: a middleware in front (add it before the circuit breaker, so the
// breaker stays outermost) and its admission composed with the binding's.
void add_rate_limit(Binding& binding, std::shared_ptr<RateLimiter> limiter);

}  // namespace fleet::runtime
