// The rate limit's token bucket with time passed in: counts over windows, no sleeping.
#include <doctest/doctest.h>

#include <vector>

#include "fleet/runtime/token_bucket.hpp"

namespace {

using fleet::runtime::TokenBucket;
using std::chrono::milliseconds;
using Time = TokenBucket::Time;

const Time t0 = Time{} + std::chrono::hours(1);

}  // namespace

TEST_CASE("a full bucket allows its burst at once, then one token per 1/rate") {
  TokenBucket bucket(100, 10, t0);
  int taken = 0;
  while (bucket.try_take(t0)) ++taken;
  CHECK(taken == 10);
  const auto wait = bucket.next_token(t0) - t0;
  CHECK(wait >= std::chrono::microseconds(9'999));
  CHECK(wait <= std::chrono::microseconds(10'001));
  CHECK_FALSE(bucket.try_take(t0 + milliseconds(9)));
  CHECK(bucket.try_take(t0 + milliseconds(10)));
}

TEST_CASE("greedy takers get at most burst + rate * T starts over any span of T") {
  TokenBucket bucket(100, 10, t0);
  // Try every millisecond for 5 s, as many times as the bucket allows.
  std::vector<Time> starts;
  for (int ms = 0; ms <= 5'000; ++ms) {
    const Time now = t0 + milliseconds(ms);
    while (bucket.try_take(now)) starts.push_back(now);
  }
  CHECK(starts.size() <= 10 + 500);
  CHECK(starts.size() >= 10 + 495);  // floating-point refill may lose a token or so
  // Every 1 s window: at most 10 + 100.
  for (std::size_t i = 0; i < starts.size(); ++i) {
    std::size_t in_window = 0;
    for (std::size_t j = i; j < starts.size() && starts[j] < starts[i] + milliseconds(1'000); ++j) {
      ++in_window;
    }
    CHECK_MESSAGE(in_window <= 110, i);
  }
}

TEST_CASE("a quiet spell refills the bucket only up to the burst") {
  TokenBucket bucket(100, 10, t0);
  while (bucket.try_take(t0)) {
  }
  const Time later = t0 + std::chrono::hours(1);
  CHECK(bucket.available(later) == doctest::Approx(10));
}
