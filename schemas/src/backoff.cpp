#include "fleet/backoff.hpp"

#include <algorithm>
#include <cmath>
#include <random>

namespace fleet {

using std::chrono::milliseconds;

UniformRandom default_random() {
  return [] {
    thread_local std::mt19937_64 engine{std::random_device{}()};
    return std::uniform_real_distribution<double>(0.0, 1.0)(engine);
  };
}

Status Backoff::validate() const {
  if (initial.count() < 0) return fail(Errc::invalid_argument, "backoff initial < 0");
  if (!(multiplier >= 1.0)) return fail(Errc::invalid_argument, "backoff multiplier must be >= 1");
  if (max < initial) return fail(Errc::invalid_argument, "backoff max must be >= initial");
  if (added_jitter.count() < 0) return fail(Errc::invalid_argument, "backoff added_jitter < 0");
  return {};
}

milliseconds Backoff::ceiling(std::uint64_t attempt) const {
  const double exponent = static_cast<double>(std::max<std::uint64_t>(attempt, 1) - 1);
  // pow overflows to inf for large attempts; min() then caps it.
  const double value = static_cast<double>(initial.count()) * std::pow(multiplier, exponent);
  return milliseconds(static_cast<std::int64_t>(std::min(value, static_cast<double>(max.count()))));
}

milliseconds Backoff::delay(std::uint64_t attempt, const UniformRandom& random) const {
  const milliseconds top = ceiling(attempt);
  switch (jitter) {
    case Jitter::none:
      return top;
    case Jitter::full: {
      const double fraction = std::clamp(random(), 0.0, 1.0);
      return milliseconds(static_cast<std::int64_t>(std::floor(top.count() * fraction)));
    }
    case Jitter::added: {
      // Inclusive of added_jitter itself, as uniform_int_distribution(0, n) would be.
      const double fraction = std::clamp(random(), 0.0, 1.0);
      const auto extra = std::min<std::int64_t>(
          static_cast<std::int64_t>(std::floor(fraction * (added_jitter.count() + 1))),
          added_jitter.count());
      return top + milliseconds(extra);
    }
  }
  return top;
}

}  // namespace fleet
