// How often and how patiently a handler is retried before its message is dead-lettered.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>

#include "fleet/backoff.hpp"
#include "fleet/error.hpp"

namespace fleet::runtime {

using std::chrono::milliseconds;

// The random source of the jitter (fleet/backoff.hpp).
using fleet::default_random;
using fleet::UniformRandom;

struct RetryPolicy {
  // Tries inside one delivery before handing the message back to the broker (>= 1).
  int immediate_attempts = 3;
  // Broker deliveries before the message is dead-lettered (>= 1). Counted by the runtime, not
  // capped on the broker (no MaxDeliver): a message whose earlier workers crashed arrives once
  // more and is dead-lettered as a poison pill without running the handler.
  int max_attempts = 5;
  // Redelivery backoff: full jitter, uniform in [0, min(max_backoff, initial * multiplier^(n-1)))
  // after the n-th failed delivery (the Backoff of redelivery_backoff()).
  milliseconds initial_backoff{200};
  double multiplier = 2.0;
  milliseconds max_backoff{30'000};

  // Errc::invalid_argument naming the first bad field.
  Status validate() const;

  // These fields as the one Backoff schedule fleet uses everywhere, with full jitter.
  Backoff redelivery_backoff() const {
    return {.initial = initial_backoff,
            .multiplier = multiplier,
            .max = max_backoff,
            .jitter = Backoff::Jitter::full};
  }
  // Upper bound of the delay after failed delivery `attempt` (1-based), before jitter.
  milliseconds backoff_ceiling(std::uint64_t attempt) const;
  // The delay to ask the broker for after failed delivery `attempt`.
  milliseconds backoff(std::uint64_t attempt, const UniformRandom& random) const;
};

}  // namespace fleet::runtime
