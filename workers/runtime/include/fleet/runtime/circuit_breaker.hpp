// The circuit breaker's state machine: pure, with time passed in, so every transition is
// unit-tested without sleeping (tests/unit/circuit_breaker_test.cpp). The middleware and the
// fetch admission that use it are in flow_control.hpp.
//
//   closed --(N consecutive counted failures, or failure rate over a window)--> open
//   open --(cool-down passed)--> half-open: one message runs as the probe
//   half-open --(probe succeeded)--> closed          (cool-down back to its initial value)
//   half-open --(probe failed, counted class)--> open (cool-down doubled, up to max_cool_down)
//
// Only failures of the configured error classes count ("downstream", not "decode": a bad message
// says nothing about the downstream). Other failures neither count nor reset the streak.
// Not thread-safe: its owner (flow_control.cpp's Circuit) locks around it.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "fleet/error.hpp"

namespace fleet::runtime {

enum class CircuitState { closed = 0, open = 1, half_open = 2 };  // values = the metric's
std::string_view to_string(CircuitState state);

struct CircuitBreakerConfig {
  // Error classes (Outcome::error_class) that count as the downstream failing; empty = all.
  std::vector<std::string> error_classes{"downstream"};
  int consecutive_failures = 0;  // opens after this many counted failures in a row; 0 = off
  double failure_rate = 0;       // opens when counted failures / outcomes in `window` reach
                                 // this (0 < rate <= 1); 0 = off
  int min_outcomes = 20;         // the rate is judged only over at least this many outcomes
  std::chrono::milliseconds window{30'000};
  std::chrono::milliseconds cool_down{5'000};       // open -> half-open after this
  std::chrono::milliseconds max_cool_down{60'000};  // doubles after each failed probe, up to this
  // Half-open: after letting the fetcher take one message for the probe, it may take another
  // only after this long if none arrived (the stream was empty, or another process took it).
  std::chrono::milliseconds probe_fetch_lease{1'000};
  // A held message that fails this many probes is handed back as an ordinary failure (one
  // attempt used) and another message probes next: a message that itself makes the downstream
  // fail cannot block the binding forever. 0 = hold it as long as the circuit stays open.
  int probes_per_message = 3;

  bool enabled() const { return consecutive_failures > 0 || failure_rate > 0; }
  Status validate() const;  // Errc::invalid_argument naming the bad field
};

// What one handled message means to the breaker.
enum class Verdict { success, counted_failure, other };

struct CircuitTransition {
  CircuitState from = CircuitState::closed;
  CircuitState to = CircuitState::closed;
  std::string reason;  // e.g. "5 consecutive downstream failures"
};

class CircuitBreaker {
 public:
  using Time = std::chrono::steady_clock::time_point;

  explicit CircuitBreaker(CircuitBreakerConfig config);

  // The verdict on an outcome of this error class (success = empty class and succeeded).
  Verdict verdict(bool succeeded, std::string_view error_class) const;

  struct Permit {
    bool granted = false;
    bool probe = false;  // the half-open probe: its verdict decides the state
  };
  // May one message run its handler now? Closed: yes. Open: no, until the cool-down has passed
  // (then half-open). Half-open: to exactly one message, the probe, until its verdict is in.
  Permit try_start(Time now);
  // The verdict on a message started with a permit (`probe` as that permit said).
  void record(Verdict verdict, bool probe, Time now);

  // How many messages the fetcher may take now: no limit when closed, none when open, one in
  // half-open when no probe is out (then none for probe_fetch_lease).
  std::size_t fetch_allowance(Time now);

  CircuitState state() const { return state_; }
  // When time alone changes the state (the end of the cool-down); Time::max() when closed.
  Time next_change() const;
  std::chrono::milliseconds current_cool_down() const { return cool_down_; }

  // Transitions since the last call, oldest first (for logs, metrics, status).
  std::vector<CircuitTransition> take_transitions();

 private:
  std::string counted_classes() const;  // "downstream", "downstream/timeout" or "counted"
  void move(CircuitState to, std::string reason);
  void open(Time now, std::string reason);
  void advance(Time now);  // open -> half-open once the cool-down has passed

  CircuitBreakerConfig config_;
  CircuitState state_ = CircuitState::closed;
  int streak_ = 0;                            // consecutive counted failures
  std::deque<std::pair<Time, bool>> recent_;  // (when, counted failure) within the window
  std::chrono::milliseconds cool_down_;
  Time half_open_at_{};
  bool probe_out_ = false;
  Time lease_until_{};
  std::vector<CircuitTransition> transitions_;
};

}  // namespace fleet::runtime
