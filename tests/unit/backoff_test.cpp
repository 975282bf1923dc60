// The one backoff schedule (fleet/backoff.hpp) and the defaults each user gives it, with the
// random source passed in: every delay without sleeping.
#include <doctest/doctest.h>

#include <string>

#include "fleet/backoff.hpp"
#include "fleet/outbox/relay.hpp"

namespace {

using fleet::Backoff;
using std::chrono::milliseconds;

fleet::UniformRandom constant(double value) {
  return [value] { return value; };
}

std::string rejection(const Backoff& backoff) {
  auto status = backoff.validate();
  REQUIRE_FALSE(status.has_value());
  CHECK(status.error().code == fleet::Errc::invalid_argument);
  return status.error().message;
}

}  // namespace

TEST_CASE("the ceiling grows by the multiplier from the initial delay and stops at max") {
  const Backoff backoff{
      .initial = milliseconds(100), .multiplier = 3.0, .max = milliseconds(5'000)};
  const std::int64_t expected[] = {100, 300, 900, 2'700, 5'000, 5'000};
  for (std::uint64_t attempt = 1; attempt <= 6; ++attempt) {
    CHECK_MESSAGE(backoff.ceiling(attempt).count() == expected[attempt - 1], attempt);
  }
  CHECK(backoff.ceiling(0) == milliseconds(100));            // attempt 0 counts as the first
  CHECK(backoff.ceiling(1'000'000) == milliseconds(5'000));  // no overflow far out
  CHECK(backoff.ceiling(UINT64_MAX) == milliseconds(5'000));
}

TEST_CASE("a multiplier of 1 is a fixed delay") {
  const Backoff fixed{.initial = milliseconds(20),
                      .multiplier = 1.0,
                      .max = milliseconds(20),
                      .jitter = Backoff::Jitter::none};
  for (std::uint64_t attempt = 1; attempt <= 100; ++attempt) {
    CHECK(fixed.delay(attempt) == milliseconds(20));
  }
}

TEST_CASE("without jitter the delay is the ceiling and the random source is never asked") {
  const Backoff backoff{
      .initial = milliseconds(100), .max = milliseconds(1'000), .jitter = Backoff::Jitter::none};
  int asked = 0;
  const fleet::UniformRandom counting = [&asked] {
    ++asked;
    return 0.5;
  };
  for (std::uint64_t attempt = 1; attempt <= 6; ++attempt) {
    CHECK(backoff.delay(attempt, counting) == backoff.ceiling(attempt));
  }
  CHECK(asked == 0);
}

TEST_CASE("full jitter is uniform in [0, ceiling)") {
  const Backoff backoff{.initial = milliseconds(200),
                        .multiplier = 2.0,
                        .max = milliseconds(30'000),
                        .jitter = Backoff::Jitter::full};
  for (std::uint64_t attempt = 1; attempt <= 10; ++attempt) {
    CAPTURE(attempt);
    const auto ceiling = backoff.ceiling(attempt);
    CHECK(backoff.delay(attempt, constant(0.0)) == milliseconds(0));
    CHECK(backoff.delay(attempt, constant(0.5)) == ceiling / 2);
    const auto top = backoff.delay(attempt, constant(0.9999999));
    CHECK(top < ceiling);
    CHECK(top >= ceiling - milliseconds(1));
  }
  // A source outside [0, 1) is clamped, never a negative or longer delay.
  CHECK(backoff.delay(1, constant(-3.0)) == milliseconds(0));
  CHECK(backoff.delay(1, constant(7.0)) == milliseconds(200));
}

TEST_CASE("added jitter lengthens the ceiling by 0 to added_jitter, both ends included") {
  const Backoff backoff{.initial = milliseconds(250),
                        .multiplier = 2.0,
                        .max = milliseconds(4'000),
                        .jitter = Backoff::Jitter::added,
                        .added_jitter = milliseconds(100)};
  CHECK(backoff.delay(1, constant(0.0)) == milliseconds(250));
  CHECK(backoff.delay(2, constant(0.5)) == milliseconds(500 + 50));
  CHECK(backoff.delay(3, constant(0.9999999)) == milliseconds(1'000 + 100));
  CHECK(backoff.delay(9, constant(1.0)) == milliseconds(4'000 + 100));
}

TEST_CASE("validate accepts the defaults and names the first bad field") {
  CHECK(Backoff{}.validate().has_value());
  CHECK(rejection({.initial = milliseconds(-1)}).find("initial") != std::string::npos);
  CHECK(rejection({.multiplier = 0.5}).find("multiplier") != std::string::npos);
  CHECK(rejection({.initial = milliseconds(500), .max = milliseconds(100)}).find("max") !=
        std::string::npos);
  CHECK(rejection({.added_jitter = milliseconds(-1)}).find("added_jitter") != std::string::npos);
}

TEST_CASE("the relay waits 100 ms after an outage, doubling to 5 s, without jitter") {
  const Backoff backoff = fleet::outbox::RelayConfig{}.outage_backoff;
  CHECK(backoff.validate().has_value());
  const std::int64_t expected[] = {100, 200, 400, 800, 1'600, 3'200, 5'000, 5'000};
  for (std::uint64_t attempt = 1; attempt <= 8; ++attempt) {
    CHECK_MESSAGE(backoff.delay(attempt, constant(0.5)).count() == expected[attempt - 1], attempt);
  }
}
