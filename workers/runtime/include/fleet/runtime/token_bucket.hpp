// A token bucket with time passed in (pure; unit-tested without sleeping): `rate` tokens a
// second, holding at most `burst`. Over any span of T seconds at most burst + rate * T tokens
// are taken — the rate limit's guarantee. Not thread-safe: its owner locks around it.
#pragma once

#include <algorithm>
#include <chrono>

namespace fleet::runtime {

class TokenBucket {
 public:
  using Time = std::chrono::steady_clock::time_point;

  // Starts full.
  TokenBucket(double rate, double burst, Time now)
      : rate_(rate), burst_(burst), tokens_(burst), at_(now) {}

  // Whole tokens there now.
  double available(Time now) {
    refill(now);
    return tokens_;
  }
  // Takes one token if there is one.
  bool try_take(Time now) {
    refill(now);
    if (tokens_ < 1 - kRounding) return false;
    tokens_ = std::max(0.0, tokens_ - 1);
    return true;
  }
  // When the next whole token is there (now when there is one already).
  Time next_token(Time now) {
    refill(now);
    if (tokens_ >= 1 - kRounding) return now;
    const auto wait = std::chrono::duration<double>((1 - tokens_) / rate_);
    return now + std::chrono::ceil<std::chrono::nanoseconds>(wait);
  }

 private:
  // Refills add up in small floating-point steps: a token 1e-9 short is a whole one.
  static constexpr double kRounding = 1e-9;

  void refill(Time now) {
    if (now <= at_) return;
    tokens_ += rate_ * std::chrono::duration<double>(now - at_).count();
    if (tokens_ > burst_) tokens_ = burst_;
    at_ = now;
  }

  double rate_;
  double burst_;
  double tokens_;
  Time at_;
};

}  // namespace fleet::runtime
