#include <doctest/doctest.h>

#include "fleet/runtime/log_throttle.hpp"

using fleet::runtime::log::Throttle;
using namespace std::chrono_literals;

TEST_CASE("a burst of alike warnings is written once a second, with the count of those left out") {
  Throttle throttle(1s);
  const Throttle::Time t0{};
  CHECK(throttle.admit("held", t0) == 0u);
  for (int i = 1; i <= 84; ++i) CHECK_FALSE(throttle.admit("held", t0 + i * 10ms).has_value());
  // The next line of the kind after the interval says how many were left out.
  CHECK(throttle.admit("held", t0 + 1s) == 84u);
  CHECK_FALSE(throttle.admit("held", t0 + 1500ms).has_value());
  CHECK(throttle.admit("held", t0 + 3s) == 1u);
  CHECK(throttle.admit("held", t0 + 5s) == 0u);
}

TEST_CASE("warnings of different kinds do not hold each other back") {
  Throttle throttle(1s);
  const Throttle::Time t0{};
  CHECK(throttle.admit("follow-up held", t0) == 0u);
  CHECK(throttle.admit("dependency unreachable", t0 + 1ms) == 0u);
  CHECK_FALSE(throttle.admit("follow-up held", t0 + 2ms).has_value());
  CHECK_FALSE(throttle.admit("dependency unreachable", t0 + 3ms).has_value());
}
