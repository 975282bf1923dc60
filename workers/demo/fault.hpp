// Optional fault injection for the demo (Rules::fault_rate): a participant attempt fails as a
// retryable error with this probability, so retries and redeliveries happen during a demo run.
// And optional simulated work (Rules::step_work_ms), so a participant is slow and queues form.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>
#include <thread>

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

inline void simulate_work(std::int64_t ms) {
  if (ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

}  // namespace fleet::demo
