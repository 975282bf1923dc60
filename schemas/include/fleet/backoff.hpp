// How long to wait before the next try after `attempt` failures in a row: one schedule for every
// retry in fleet (redelivery of a failed message, the outbox relay while the broker is away, the
// NATS reconnect, start-up steps on a busy cluster).
//
// Pure and thread-safe: a Backoff is a value; randomness comes in as a UniformRandom, so tests
// pass a constant. Callers that retry in a loop keep the failure count themselves and reset it
// on success.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>

#include "fleet/error.hpp"

namespace fleet {

// Returns a uniformly distributed number in [0, 1). Injected so jitter is testable.
using UniformRandom = std::function<double()>;
// The default source: a thread-local mt19937_64 seeded from std::random_device; safe to call
// from any thread.
UniformRandom default_random();

struct Backoff {
  enum class Jitter {
    none,  // exactly the ceiling
    full,  // uniform in [0, ceiling): retries of many processes spread out the most
    added  // the ceiling plus uniform in [0, added_jitter]: never shorter than the ceiling
  };

  // The ceiling after failure n (1-based) is min(max, initial * multiplier^(n-1)).
  std::chrono::milliseconds initial{100};
  double multiplier = 2.0;  // >= 1; 1 = a fixed delay
  std::chrono::milliseconds max{30'000};
  Jitter jitter = Jitter::full;
  std::chrono::milliseconds added_jitter{0};  // only for Jitter::added

  // Errc::invalid_argument naming the first bad field.
  Status validate() const;

  // The delay after failure `attempt` (1-based; 0 counts as 1) before jitter. Never overflows:
  // far-out attempts stay at `max`.
  std::chrono::milliseconds ceiling(std::uint64_t attempt) const;
  // The delay to wait after failure `attempt`, jitter drawn from `random` (values outside
  // [0, 1] are clamped). Jitter::none does not call it.
  std::chrono::milliseconds delay(std::uint64_t attempt, const UniformRandom& random) const;
  std::chrono::milliseconds delay(std::uint64_t attempt) const {
    return delay(attempt, default_random());
  }
};

}  // namespace fleet
