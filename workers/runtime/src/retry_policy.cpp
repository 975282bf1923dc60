#include "fleet/runtime/retry_policy.hpp"

#include <algorithm>
#include <cmath>
#include <random>

namespace fleet::runtime {

UniformRandom default_random() {
  return [] {
    thread_local std::mt19937_64 engine{std::random_device{}()};
    return std::uniform_real_distribution<double>(0.0, 1.0)(engine);
  };
}

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
  const double exponent = static_cast<double>(std::max<std::uint64_t>(attempt, 1) - 1);
  // pow overflows to inf for large attempts; min() then caps it.
  const double ceiling = initial_backoff.count() * std::pow(multiplier, exponent);
  return milliseconds(
      static_cast<std::int64_t>(std::min(ceiling, static_cast<double>(max_backoff.count()))));
}

milliseconds RetryPolicy::backoff(std::uint64_t attempt, const UniformRandom& random) const {
  const double fraction = std::clamp(random(), 0.0, 1.0);
  return milliseconds(
      static_cast<std::int64_t>(std::floor(backoff_ceiling(attempt).count() * fraction)));
}

}  // namespace fleet::runtime
