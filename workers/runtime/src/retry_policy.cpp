#include "fleet/runtime/retry_policy.hpp"

namespace fleet::runtime {

Status RetryPolicy::validate() const {
  if (immediate_attempts < 1)
    return fail(Errc::invalid_argument, "immediate_attempts must be >= 1");
  if (max_attempts < 1) return fail(Errc::invalid_argument, "max_attempts must be >= 1");
  if (initial_backoff.count() < 0) return fail(Errc::invalid_argument, "initial_backoff < 0");
  if (multiplier < 1.0) return fail(Errc::invalid_argument, "multiplier must be >= 1");
  if (max_backoff < initial_backoff) {
    return fail(Errc::invalid_argument, "max_backoff must be >= initial_backoff");
  }
  return {};
}

milliseconds RetryPolicy::backoff_ceiling(std::uint64_t attempt) const {
  return redelivery_backoff().ceiling(attempt);
}

milliseconds RetryPolicy::backoff(std::uint64_t attempt, const UniformRandom& random) const {
  return redelivery_backoff().delay(attempt, random);
}

}  // namespace fleet::runtime
