// How often and how patiently a handler is retried before its message is dead-lettered.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>

#include "fleet/error.hpp"

namespace fleet::runtime {

using std::chrono::milliseconds;

// Returns a uniformly distributed number in [0, 1). Injected so backoff is testable.
using UniformRandom = std::function<double()>;
// The default source: a thread-local mt19937_64 seeded from std::random_device.
UniformRandom default_random();

struct RetryPolicy {
  // Tries inside one delivery before handing the message back to the broker (>= 1).
  int immediate_attempts = 3;
  // Broker deliveries before the message is dead-lettered (>= 1). Counted by the runtime, not
  // capped on the broker (no MaxDeliver): a message whose earlier workers crashed arrives once
  // more and is dead-lettered as a poison pill without running the handler.
  int max_attempts = 5;
  // Redelivery backoff: full jitter, uniform in [0, min(max_backoff, initial * multiplier^(n-1)))
  // after the n-th failed delivery.
  milliseconds initial_backoff{200};
  double multiplier = 2.0;
  milliseconds max_backoff{30'000};

  // Errc::invalid_argument naming the first bad field.
  Status validate() const;

  // Upper bound of the delay after failed delivery `attempt` (1-based), before jitter.
  milliseconds backoff_ceiling(std::uint64_t attempt) const;
  // The delay to ask the broker for after failed delivery `attempt`.
  milliseconds backoff(std::uint64_t attempt, const UniformRandom& random) const;
};

}  // namespace fleet::runtime
