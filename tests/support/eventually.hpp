// Polling for an outcome in integration tests, instead of sleeping a guessed time.
#pragma once

#include <chrono>
#include <cstdlib>
#include <functional>
#include <thread>

namespace fleet::test {

// FLEET_TEST_TIME_SCALE (a whole number, default 1) stretches every wait in the tests: the
// sanitizer tiers set it (scripts/test --sanitize: 3, --tsan: 5) because their builds run
// several times slower. A wait is a bound on a condition, never a delay, so scaling it only
// changes how long a failing test takes to report.
inline int time_scale() {
  static const int scale = [] {
    const char* text = std::getenv("FLEET_TEST_TIME_SCALE");
    const int value = text != nullptr ? std::atoi(text) : 1;
    return value > 0 ? value : 1;
  }();
  return scale;
}

template <class Rep, class Period>
std::chrono::milliseconds scaled(std::chrono::duration<Rep, Period> wait) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(wait) * time_scale();
}

// Polls `done` every 50 ms until it holds or `timeout` (scaled) passes; returns its last value.
inline bool eventually(const std::function<bool()>& done,
                       std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
  const auto deadline = std::chrono::steady_clock::now() + scaled(timeout);
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return done();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

}  // namespace fleet::test
