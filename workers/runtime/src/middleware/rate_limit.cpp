// The per-process rate limit: a TokenBucket behind a mutex. A message takes its token when it
// reaches the handler; the fetcher is told how many could start now, less those already fetched
// and not started, so few wait in process.
#include <cmath>
#include <condition_variable>
#include <mutex>

#include "fleet/runtime/flow_control.hpp"
#include "fleet/runtime/token_bucket.hpp"

namespace fleet::runtime {
namespace {

using Clock = std::chrono::steady_clock;
// Fetched messages not yet at the limiter count against admission for this long at most (a
// fetch may return fewer than it was allowed; the difference must not block fetching forever).
constexpr auto kTransitLease = std::chrono::seconds(1);
constexpr auto kHeartbeat = std::chrono::seconds(5);

class LocalRateLimiter final : public RateLimiter {
 public:
  explicit LocalRateLimiter(const RateLimitConfig& config)
      : bucket_(config.per_second, config.effective_burst(), Clock::now()) {}

  void acquire(Context& context) override {
    std::unique_lock lock(mutex_);
    if (in_transit_ > 0) --in_transit_;
    ++waiting_;
    auto last_beat = Clock::now();
    while (!bucket_.try_take(Clock::now())) {
      if (Clock::now() - last_beat >= kHeartbeat) {
        lock.unlock();
        context.heartbeat();
        lock.lock();
        last_beat = Clock::now();
      }
      turn_.wait_until(lock, std::min(bucket_.next_token(Clock::now()), last_beat + kHeartbeat));
    }
    --waiting_;
    turn_.notify_one();
  }

  std::size_t admission() override {
    std::lock_guard lock(mutex_);
    const auto now = Clock::now();
    if (now >= transit_until_) in_transit_ = 0;
    const auto room =
        static_cast<long>(std::floor(bucket_.available(now) + 1e-9)) - waiting_ - in_transit_;
    if (room <= 0) return 0;
    in_transit_ += room;
    transit_until_ = now + kTransitLease;
    return static_cast<std::size_t>(room);
  }

 private:
  std::mutex mutex_;
  std::condition_variable turn_;
  TokenBucket bucket_;
  long waiting_ = 0;
  long in_transit_ = 0;
  Clock::time_point transit_until_{};
};

}  // namespace

std::shared_ptr<RateLimiter> local_rate_limiter(const RateLimitConfig& config) {
  return std::make_shared<LocalRateLimiter>(config);
}

}  // namespace fleet::runtime
