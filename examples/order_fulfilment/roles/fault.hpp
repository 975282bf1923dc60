// Optional fault injection for the demo (Rules::fault_rate): a participant attempt fails as a
// retryable error with this probability, so retries and redeliveries happen during a demo run.
// And optional simulated work (Rules::step_work_ms), so a participant is slow and queues form.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
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

// True while Rules::outage_file exists and `role` is one of Rules::outage_roles.
inline bool downstream_down(const std::string& outage_file, std::string_view outage_roles,
                            std::string_view role) {
  if (outage_file.empty()) return false;
  bool listed = false;
  for (std::size_t at = 0; at <= outage_roles.size();) {
    const auto end = std::min(outage_roles.find(',', at), outage_roles.size());
    listed = listed || outage_roles.substr(at, end - at) == role;
    at = end + 1;
  }
  return listed && ::access(outage_file.c_str(), F_OK) == 0;
}

inline runtime::Outcome downstream_outage() {
  return runtime::Outcome::retry("downstream unavailable (FLEET_DEMO_OUTAGE_FILE)", "downstream");
}

}  // namespace fleet::demo
