#include "fleet/runtime/circuit_breaker.hpp"

#include <algorithm>
#include <cstdio>
#include <limits>

namespace fleet::runtime {
namespace {

std::string seconds(std::chrono::milliseconds duration) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3g s", static_cast<double>(duration.count()) / 1000.0);
  return text;
}

}  // namespace

std::string_view to_string(CircuitState state) {
  switch (state) {
    case CircuitState::closed:
      return "closed";
    case CircuitState::open:
      return "open";
    case CircuitState::half_open:
      return "half-open";
  }
  return "unknown";
}

Status CircuitBreakerConfig::validate() const {
  if (consecutive_failures < 0) {
    return fail(Errc::invalid_argument, "circuit breaker: consecutive failures must be >= 0");
  }
  if (failure_rate < 0 || failure_rate > 1) {
    return fail(Errc::invalid_argument, "circuit breaker: failure rate must be within 0..1");
  }
  if (failure_rate > 0 && (min_outcomes < 1 || window.count() <= 0)) {
    return fail(Errc::invalid_argument,
                "circuit breaker: a failure rate needs min outcomes >= 1 and a window > 0");
  }
  if (cool_down.count() <= 0 || max_cool_down < cool_down) {
    return fail(Errc::invalid_argument,
                "circuit breaker: cool-down must be > 0 and max cool-down >= cool-down");
  }
  if (probes_per_message < 0) {
    return fail(Errc::invalid_argument, "circuit breaker: probes per message must be >= 0");
  }
  if (probe_fetch_lease.count() <= 0) {
    return fail(Errc::invalid_argument, "circuit breaker: probe fetch lease must be > 0");
  }
  return {};
}

CircuitBreaker::CircuitBreaker(CircuitBreakerConfig config)
    : config_(std::move(config)), cool_down_(config_.cool_down) {}

Verdict CircuitBreaker::verdict(bool succeeded, std::string_view error_class) const {
  if (succeeded) return Verdict::success;
  if (config_.error_classes.empty()) return Verdict::counted_failure;
  for (const auto& counted : config_.error_classes) {
    if (counted == error_class) return Verdict::counted_failure;
  }
  return Verdict::other;
}

std::string CircuitBreaker::counted_classes() const {
  if (config_.error_classes.empty()) return "counted";
  std::string text;
  for (const auto& name : config_.error_classes) text += (text.empty() ? "" : "/") + name;
  return text;
}

void CircuitBreaker::move(CircuitState to, std::string reason) {
  transitions_.push_back({state_, to, std::move(reason)});
  state_ = to;
}

void CircuitBreaker::open(Time now, std::string reason) {
  move(CircuitState::open, std::move(reason) + "; probing in " + seconds(cool_down_));
  half_open_at_ = now + cool_down_;
  probe_out_ = false;
  streak_ = 0;
  recent_.clear();
}

void CircuitBreaker::advance(Time now) {
  if (state_ == CircuitState::open && now >= half_open_at_) {
    move(CircuitState::half_open, "cool-down of " + seconds(cool_down_) + " over");
    probe_out_ = false;
    lease_until_ = Time{};
  }
}

CircuitBreaker::Permit CircuitBreaker::try_start(Time now) {
  advance(now);
  switch (state_) {
    case CircuitState::closed:
      return {true, false};
    case CircuitState::open:
      return {};
    case CircuitState::half_open:
      if (probe_out_) return {};
      probe_out_ = true;
      return {true, true};
  }
  return {};
}

void CircuitBreaker::record(Verdict verdict, bool probe, Time now) {
  advance(now);
  if (probe && state_ == CircuitState::half_open) {
    probe_out_ = false;
    if (verdict == Verdict::success) {
      cool_down_ = config_.cool_down;
      streak_ = 0;
      recent_.clear();
      move(CircuitState::closed, "probe succeeded");
    } else if (verdict == Verdict::counted_failure) {
      cool_down_ = std::min(config_.max_cool_down, cool_down_ * 2);
      open(now, "probe failed");
    }
    // Another failure says nothing about the downstream: the next message probes.
    return;
  }
  // Messages that started before the circuit opened finish while it is open or half-open: they
  // neither close nor re-open it (only the probe decides).
  if (state_ != CircuitState::closed || verdict == Verdict::other) return;

  if (verdict == Verdict::success) {
    streak_ = 0;
  } else {
    ++streak_;
  }
  if (config_.failure_rate > 0) {
    recent_.emplace_back(now, verdict == Verdict::counted_failure);
    while (!recent_.empty() && recent_.front().first <= now - config_.window) recent_.pop_front();
  }
  if (config_.consecutive_failures > 0 && streak_ >= config_.consecutive_failures) {
    open(now, std::to_string(streak_) + " consecutive " + counted_classes() + " failures");
    return;
  }
  if (config_.failure_rate > 0 &&
      recent_.size() >= static_cast<std::size_t>(config_.min_outcomes)) {
    const auto failures = static_cast<double>(
        std::count_if(recent_.begin(), recent_.end(), [](const auto& r) { return r.second; }));
    const double rate = failures / static_cast<double>(recent_.size());
    if (rate >= config_.failure_rate) {
      char text[256];
      std::snprintf(text, sizeof text, "%s failure rate %.2f over %zu outcomes in %s",
                    counted_classes().c_str(), rate, recent_.size(),
                    seconds(config_.window).c_str());
      open(now, text);
    }
  }
}

std::size_t CircuitBreaker::fetch_allowance(Time now) {
  advance(now);
  switch (state_) {
    case CircuitState::closed:
      return std::numeric_limits<std::size_t>::max();
    case CircuitState::open:
      return 0;
    case CircuitState::half_open:
      if (probe_out_ || now < lease_until_) return 0;
      lease_until_ = now + config_.probe_fetch_lease;
      return 1;
  }
  return 0;
}

CircuitBreaker::Time CircuitBreaker::next_change() const {
  return state_ == CircuitState::open ? half_open_at_ : Time::max();
}

std::vector<CircuitTransition> CircuitBreaker::take_transitions() {
  std::vector<CircuitTransition> taken;
  taken.swap(transitions_);
  return taken;
}

}  // namespace fleet::runtime
