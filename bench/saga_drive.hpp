// What the saga bench's three sides share: the 3-step saga's shape, the tracker of placed and
// completed sagas, and the driver that places start events and times an engine.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common.hpp"

namespace fleet::bench::saga_bench {

constexpr int steps = 3;
// Long enough that no timer comes due during a run: every side pays a timer's due delivery later.
constexpr std::chrono::milliseconds step_timeout{60'000};

std::int64_t now_ns();

// When each saga was placed and how long it took; written by the placer and the engine.
class Tracker {
 public:
  explicit Tracker(std::uint64_t count) : placed_(count), latency_ms_(count, 0) {}
  void placed(std::uint64_t i) { placed_[i] = now_ns(); }
  void completed(std::uint64_t i);
  std::uint64_t completed() const { return completed_.load(); }
  std::uint64_t count() const { return placed_.size(); }
  const std::vector<double>& latencies() const { return latency_ms_; }

 private:
  std::vector<std::atomic<std::int64_t>> placed_;
  std::vector<double> latency_ms_;
  std::atomic<std::uint64_t> completed_{0};
};

// Saga ids are "s<index>"; ~0 for anything else.
std::uint64_t saga_index(std::string_view id);

// The stream BSAGA_<tag> over "<tag>.>" and the participants' "<tag>s<N>.>" subjects.
void ensure_saga_stream(const Options& options, const std::string& tag);

// Waits (up to 5 minutes) until every tracked saga completed.
void wait_completed(const Tracker& tracker);

// Runs `engine` (returns when every saga completed) with the OrderPlaced start events on
// `subject` placed before it (rate 0) or alongside it at `rate`; returns sagas per second.
double drive(const Options& options, const std::string& subject, Tracker& tracker, double rate,
             const std::function<void()>& engine);

// The sides; each returns sagas per second.
double raw_lean_saga(const Options& options, const std::string& tag, Tracker& tracker, double rate);
double raw_design_saga(const Options& options, const std::string& tag, Tracker& tracker,
                       double rate);
double fleet_saga(const Options& options, const std::string& tag, Tracker& tracker, double rate);

}  // namespace fleet::bench::saga_bench
