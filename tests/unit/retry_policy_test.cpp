#include <doctest/doctest.h>

#include <algorithm>
#include <string>

#include "fleet/runtime/retry_policy.hpp"

namespace {

using fleet::runtime::RetryPolicy;
using std::chrono::milliseconds;

fleet::runtime::UniformRandom constant(double value) {
  return [value] { return value; };
}

std::string rejection(const RetryPolicy& policy) {
  auto status = policy.validate();
  REQUIRE_FALSE(status.has_value());
  CHECK(status.error().code == fleet::Errc::invalid_argument);
  return status.error().message;
}

}  // namespace

TEST_CASE("the backoff ceiling doubles from the initial backoff and stops at max_backoff") {
  const RetryPolicy policy{
      .initial_backoff = milliseconds(100), .multiplier = 2.0, .max_backoff = milliseconds(10'000)};
  const std::int64_t expected[] = {100, 200, 400, 800, 1'600, 3'200, 6'400, 10'000, 10'000, 10'000};
  for (std::uint64_t attempt = 1; attempt <= 10; ++attempt) {
    CHECK_MESSAGE(policy.backoff_ceiling(attempt).count() == expected[attempt - 1], attempt);
  }
  CHECK(policy.backoff_ceiling(1'000) == milliseconds(10'000));  // no overflow far out
}

TEST_CASE("backoff is full jitter: uniform in [0, ceiling) for every attempt") {
  const RetryPolicy policy{
      .initial_backoff = milliseconds(200), .multiplier = 3.0, .max_backoff = milliseconds(30'000)};
  for (std::uint64_t attempt = 1; attempt <= 10; ++attempt) {
    CAPTURE(attempt);
    const auto ceiling = policy.backoff_ceiling(attempt);
    CHECK(policy.backoff(attempt, constant(0.0)) == milliseconds(0));
    const auto half = policy.backoff(attempt, constant(0.5));
    CHECK(half >= ceiling / 2 - milliseconds(1));
    CHECK(half <= ceiling / 2);
    const auto top = policy.backoff(attempt, constant(0.9999999));
    CHECK(top < ceiling);
    CHECK(top >= ceiling - milliseconds(1));
  }
}

TEST_CASE("the default random source stays in [0, 1)") {
  auto random = fleet::runtime::default_random();
  for (int i = 0; i < 1'000; ++i) {
    const double value = random();
    CHECK(value >= 0.0);
    CHECK(value < 1.0);
  }
}

TEST_CASE("validate accepts the defaults and names the first bad field") {
  CHECK(RetryPolicy{}.validate().has_value());
  CHECK(rejection({.immediate_attempts = 0}).find("immediate_attempts") != std::string::npos);
  CHECK(rejection({.max_attempts = 0}).find("max_attempts") != std::string::npos);
  CHECK(rejection({.initial_backoff = milliseconds(-1)}).find("initial_backoff") !=
        std::string::npos);
  CHECK(rejection({.multiplier = 0.5}).find("multiplier") != std::string::npos);
  CHECK(rejection({.initial_backoff = milliseconds(500), .max_backoff = milliseconds(100)})
            .find("max_backoff") != std::string::npos);
}

TEST_CASE("the retry policy's redelivery backoff is full jitter over its own fields") {
  const RetryPolicy policy;  // 200 ms doubling up to 30 s
  const fleet::Backoff backoff = policy.redelivery_backoff();
  CHECK(backoff.jitter == fleet::Backoff::Jitter::full);
  CHECK(backoff.validate().has_value());
  for (std::uint64_t attempt = 1; attempt <= 12; ++attempt) {
    CAPTURE(attempt);
    CHECK(policy.backoff_ceiling(attempt) == backoff.ceiling(attempt));
    CHECK(policy.backoff(attempt, constant(0.25)) == backoff.delay(attempt, constant(0.25)));
  }
  CHECK(policy.backoff_ceiling(1) == milliseconds(200));
  CHECK(policy.backoff_ceiling(20) == milliseconds(30'000));
}
