// Optional fault injection for the demo (Rules::fault_rate): a participant attempt fails as a
// retryable error with this probability, so retries and redeliveries happen during a demo run.
#pragma once

#include <random>

#include "fleet/runtime/outcome.hpp"

namespace fleet::demo {

inline bool inject_fault(double rate) {
  if (rate <= 0) return false;
  thread_local std::mt19937_64 random{std::random_device{}()};
  return std::uniform_real_distribution<double>(0, 1)(random) < rate;
}

inline runtime::Outcome injected_fault() {
  return runtime::Outcome::retry("injected fault (FLEET_DEMO_FAULT_RATE)", "fault");
}

}  // namespace fleet::demo
