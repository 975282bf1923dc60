// The circuit breaker's state machine with time passed in: every transition without sleeping.
#include <doctest/doctest.h>

#include <limits>

#include "fleet/runtime/circuit_breaker.hpp"

namespace {

using fleet::runtime::CircuitBreaker;
using fleet::runtime::CircuitBreakerConfig;
using fleet::runtime::CircuitState;
using fleet::runtime::Verdict;
using std::chrono::milliseconds;
using Time = CircuitBreaker::Time;

const Time t0 = Time{} + std::chrono::hours(1);
constexpr auto unlimited = std::numeric_limits<std::size_t>::max();

CircuitBreakerConfig consecutive(int n) {
  return {.consecutive_failures = n,
          .cool_down = milliseconds(1'000),
          .max_cool_down = milliseconds(4'000),
          .probe_fetch_lease = milliseconds(500)};
}

// Runs one message through the breaker at `now` with `verdict`; false when it was not let in.
bool handle(CircuitBreaker& breaker, Verdict verdict, Time now) {
  const auto permit = breaker.try_start(now);
  if (!permit.granted) return false;
  breaker.record(verdict, permit.probe, now);
  return true;
}

}  // namespace

TEST_CASE("only failures of the configured error classes count; success is not a failure") {
  CircuitBreaker breaker({.error_classes = {"downstream", "timeout"}, .consecutive_failures = 1});
  CHECK(breaker.verdict(false, "downstream") == Verdict::counted_failure);
  CHECK(breaker.verdict(false, "timeout") == Verdict::counted_failure);
  CHECK(breaker.verdict(false, "decode") == Verdict::other);
  CHECK(breaker.verdict(true, "") == Verdict::success);
  CircuitBreaker any({.error_classes = {}, .consecutive_failures = 1});
  CHECK(any.verdict(false, "decode") == Verdict::counted_failure);
}

TEST_CASE("the circuit opens after N consecutive counted failures and the fetcher stops") {
  CircuitBreaker breaker(consecutive(3));
  CHECK(breaker.fetch_allowance(t0) == unlimited);
  CHECK(handle(breaker, Verdict::counted_failure, t0));
  CHECK(handle(breaker, Verdict::counted_failure, t0));
  CHECK(breaker.state() == CircuitState::closed);
  CHECK(handle(breaker, Verdict::counted_failure, t0));
  CHECK(breaker.state() == CircuitState::open);
  CHECK(breaker.fetch_allowance(t0) == 0);
  CHECK_FALSE(breaker.try_start(t0 + milliseconds(999)).granted);
  const auto transitions = breaker.take_transitions();
  REQUIRE(transitions.size() == 1);
  CHECK(transitions[0].from == CircuitState::closed);
  CHECK(transitions[0].to == CircuitState::open);
  CHECK(transitions[0].reason.find("3 consecutive downstream failures") != std::string::npos);
  CHECK(breaker.take_transitions().empty());
}

TEST_CASE("a success or another class's failure breaks the streak differently") {
  CircuitBreaker breaker(consecutive(2));
  handle(breaker, Verdict::counted_failure, t0);
  handle(breaker, Verdict::success, t0);  // resets the streak
  handle(breaker, Verdict::counted_failure, t0);
  CHECK(breaker.state() == CircuitState::closed);
  handle(breaker, Verdict::other, t0);  // a bad message says nothing about the downstream
  handle(breaker, Verdict::counted_failure, t0);
  CHECK(breaker.state() == CircuitState::open);
}

TEST_CASE("after the cool-down one message probes; others wait until its verdict") {
  CircuitBreaker breaker(consecutive(1));
  handle(breaker, Verdict::counted_failure, t0);
  const Time later = t0 + milliseconds(1'000);
  CHECK(breaker.next_change() == later);
  CHECK(breaker.fetch_allowance(later) == 1);
  CHECK(breaker.state() == CircuitState::half_open);
  CHECK(breaker.fetch_allowance(later) == 0);  // one fetch for the probe per lease
  CHECK(breaker.fetch_allowance(later + milliseconds(500)) == 1);  // none came: lease over
  const auto probe = breaker.try_start(later);
  CHECK(probe.granted);
  CHECK(probe.probe);
  CHECK_FALSE(breaker.try_start(later).granted);
  CHECK(breaker.fetch_allowance(later + milliseconds(5'000)) == 0);  // probe still out
}

TEST_CASE("a successful probe closes the circuit and resets the cool-down") {
  CircuitBreaker breaker(consecutive(1));
  handle(breaker, Verdict::counted_failure, t0);
  Time now = t0 + milliseconds(1'000);
  handle(breaker, Verdict::counted_failure, now);  // probe fails: cool-down 2 s
  CHECK(breaker.current_cool_down() == milliseconds(2'000));
  now += milliseconds(2'000);
  CHECK(handle(breaker, Verdict::success, now));
  CHECK(breaker.state() == CircuitState::closed);
  CHECK(breaker.current_cool_down() == milliseconds(1'000));
  CHECK(breaker.fetch_allowance(now) == unlimited);
  std::vector<CircuitState> states;
  for (const auto& t : breaker.take_transitions()) states.push_back(t.to);
  CHECK(states == std::vector<CircuitState>{CircuitState::open, CircuitState::half_open,
                                            CircuitState::open, CircuitState::half_open,
                                            CircuitState::closed});
}

TEST_CASE("failed probes back off: the cool-down doubles up to its maximum") {
  CircuitBreaker breaker(consecutive(1));
  handle(breaker, Verdict::counted_failure, t0);
  Time now = t0;
  std::vector<std::int64_t> cool_downs;
  for (int probe = 0; probe < 5; ++probe) {
    now = breaker.next_change();
    CHECK_FALSE(breaker.try_start(now - milliseconds(1)).granted);  // not before its time
    REQUIRE(handle(breaker, Verdict::counted_failure, now));
    cool_downs.push_back(breaker.current_cool_down().count());
  }
  CHECK(cool_downs == std::vector<std::int64_t>{2'000, 4'000, 4'000, 4'000, 4'000});
}

TEST_CASE("a probe failing with another class leaves the circuit half-open for the next probe") {
  CircuitBreaker breaker(consecutive(1));
  handle(breaker, Verdict::counted_failure, t0);
  const Time now = t0 + milliseconds(1'000);
  REQUIRE(handle(breaker, Verdict::other, now));
  CHECK(breaker.state() == CircuitState::half_open);
  const auto next = breaker.try_start(now);
  CHECK(next.granted);
  CHECK(next.probe);
}

TEST_CASE("late verdicts of messages started before the circuit opened change nothing") {
  CircuitBreaker breaker(consecutive(2));
  const auto early = breaker.try_start(t0);  // started while closed, finishes later
  handle(breaker, Verdict::counted_failure, t0);
  handle(breaker, Verdict::counted_failure, t0);
  REQUIRE(breaker.state() == CircuitState::open);
  breaker.record(Verdict::success, early.probe, t0 + milliseconds(10));
  CHECK(breaker.state() == CircuitState::open);
}

TEST_CASE("the failure rate opens the circuit over a window once enough outcomes are in") {
  CircuitBreaker breaker({.failure_rate = 0.5,
                          .min_outcomes = 10,
                          .window = milliseconds(10'000),
                          .cool_down = milliseconds(1'000)});
  Time now = t0;
  // 4 failures among 9 outcomes: too few outcomes to judge.
  for (int i = 0; i < 9; ++i) {
    handle(breaker, i % 2 == 0 ? Verdict::success : Verdict::counted_failure, now);
    now += milliseconds(100);
  }
  CHECK(breaker.state() == CircuitState::closed);
  handle(breaker, Verdict::counted_failure, now);  // 5 of 10
  CHECK(breaker.state() == CircuitState::open);
  CHECK(breaker.take_transitions().front().reason.find("downstream failure rate 0.50") !=
        std::string::npos);
}

TEST_CASE("outcomes older than the window no longer count toward the rate") {
  CircuitBreaker breaker({.failure_rate = 0.5,
                          .min_outcomes = 4,
                          .window = milliseconds(1'000),
                          .cool_down = milliseconds(1'000)});
  handle(breaker, Verdict::counted_failure, t0);
  handle(breaker, Verdict::counted_failure, t0);
  handle(breaker, Verdict::counted_failure, t0);
  const Time later = t0 + milliseconds(2'000);  // those three have left the window
  for (int i = 0; i < 3; ++i) handle(breaker, Verdict::success, later);
  handle(breaker, Verdict::counted_failure, later);  // 1 of 4 in the window
  CHECK(breaker.state() == CircuitState::closed);
}

TEST_CASE("a breaker config with impossible values is rejected naming the field") {
  CHECK_FALSE(CircuitBreakerConfig{.failure_rate = 1.5}.validate().has_value());
  CHECK_FALSE(CircuitBreakerConfig{.consecutive_failures = -1}.validate().has_value());
  CHECK_FALSE(CircuitBreakerConfig{.consecutive_failures = 3,
                                   .cool_down = milliseconds(10'000),
                                   .max_cool_down = milliseconds(1'000)}
                  .validate()
                  .has_value());
  CHECK(CircuitBreakerConfig{.consecutive_failures = 3}.validate().has_value());
  CHECK_FALSE(CircuitBreakerConfig{}.enabled());
}
