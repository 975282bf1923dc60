// The role-wide rate limit: a token bucket kept in one KV entry ("<tokens> <unix ms>"), taken in
// chunks with compare-and-set; each process spends its chunk locally. One lane at a time talks
// to the bucket (the mutex), the others wait for its answer.
#include <charconv>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>

#include "fleet/runtime/flow_control.hpp"
#include "fleet/runtime/log.hpp"

namespace fleet::runtime {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kHeartbeat = std::chrono::seconds(5);
constexpr auto kTransitLease = std::chrono::seconds(1);
constexpr auto kUnreachablePause = std::chrono::milliseconds(250);

std::int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct Stored {
  double tokens = 0;
  std::int64_t at_ms = 0;
};

std::optional<Stored> parse(const std::string& value) {
  Stored stored;
  const auto space = value.find(' ');
  if (space == std::string::npos) return std::nullopt;
  const char* begin = value.data();
  if (std::from_chars(begin, begin + space, stored.tokens).ec != std::errc{}) return std::nullopt;
  if (std::from_chars(begin + space + 1, begin + value.size(), stored.at_ms).ec != std::errc{}) {
    return std::nullopt;
  }
  return stored;
}

std::string format(const Stored& stored) {
  char text[64];
  std::snprintf(text, sizeof text, "%.6f %lld", stored.tokens,
                static_cast<long long>(stored.at_ms));
  return text;
}

class SharedRateLimiter final : public RateLimiter {
 public:
  SharedRateLimiter(const RateLimitConfig& config, std::shared_ptr<broker::KeyValue> bucket,
                    std::string key, double chunk)
      : rate_(config.per_second),
        burst_(config.effective_burst()),
        chunk_(chunk > 0 ? chunk : std::max(1.0, config.per_second / 20)),
        bucket_(std::move(bucket)),
        key_(std::move(key)) {}

  void acquire(Context& context) override {
    std::unique_lock lock(mutex_);
    if (in_transit_ > 0) --in_transit_;
    ++waiting_;
    auto last_beat = Clock::now();
    while (pool_ < 1) {
      if (Clock::now() - last_beat >= kHeartbeat) {
        lock.unlock();
        context.heartbeat();
        lock.lock();
        last_beat = Clock::now();
        continue;
      }
      if (refilling_) {
        turn_.wait_until(lock, last_beat + kHeartbeat);
        continue;
      }
      refilling_ = true;
      lock.unlock();
      const auto taken = take(static_cast<long>(chunk_));
      lock.lock();
      refilling_ = false;
      pool_ += taken.count;
      turn_.notify_all();
      if (taken.count == 0) {
        // Sleep until the bucket should hold a token again, heartbeating meanwhile.
        turn_.wait_until(lock, std::min(Clock::now() + taken.retry_in, last_beat + kHeartbeat));
      }
    }
    --pool_;
    --waiting_;
  }

  std::size_t admission() override {
    std::lock_guard lock(mutex_);
    const auto now = Clock::now();
    if (now >= transit_until_) in_transit_ = 0;
    const long room = static_cast<long>(std::max<double>(pool_, chunk_)) - waiting_ - in_transit_;
    if (room <= 0) return 0;
    in_transit_ += room;
    transit_until_ = now + kTransitLease;
    return static_cast<std::size_t>(room);
  }

 private:
  struct Taken {
    long count = 0;
    std::chrono::milliseconds retry_in{0};
  };

  // Takes up to `want` tokens from the shared bucket (compare-and-set, retried on conflict).
  Taken take(long want) {
    for (int round = 0; round < 20; ++round) {
      auto entry = bucket_->get(key_);
      if (!entry) return unreachable(entry.error());
      const std::int64_t now = unix_ms();
      Stored stored{burst_, now};  // a new bucket starts full
      if (*entry) {
        if (auto parsed = parse((*entry)->value)) stored = *parsed;
      }
      // A clock behind the bucket's (another host) refills nothing rather than going back.
      const std::int64_t elapsed = std::max<std::int64_t>(0, now - stored.at_ms);
      stored.tokens = std::min(burst_, stored.tokens + rate_ * static_cast<double>(elapsed) / 1000);
      stored.at_ms = std::max(stored.at_ms, now);
      const long count = std::min(want, static_cast<long>(std::floor(stored.tokens)));
      if (count == 0) {
        const double missing = 1 - stored.tokens;
        return {0, std::chrono::milliseconds(
                       static_cast<std::int64_t>(std::ceil(missing / rate_ * 1000)) + 1)};
      }
      stored.tokens -= static_cast<double>(count);
      auto written = *entry ? bucket_->update(key_, format(stored), (*entry)->revision)
                            : bucket_->create(key_, format(stored));
      if (written) return {count, {}};
      if (written.error().code != Errc::conflict) return unreachable(written.error());
    }
    return {0, std::chrono::milliseconds(1)};  // heavy contention: try again at once
  }

  Taken unreachable(const Error& error) {
    const auto now = Clock::now();
    if (now - last_warning_ > std::chrono::seconds(5)) {
      log::write(spdlog::level::warn, "rate limit bucket unavailable; messages wait",
                 {{"key", key_}, {"error", error.describe()}});
      last_warning_ = now;
    }
    return {0, std::chrono::duration_cast<std::chrono::milliseconds>(kUnreachablePause)};
  }

  const double rate_;
  const double burst_;
  const double chunk_;
  std::shared_ptr<broker::KeyValue> bucket_;
  const std::string key_;
  std::mutex mutex_;
  std::condition_variable turn_;
  double pool_ = 0;
  bool refilling_ = false;
  long waiting_ = 0;
  long in_transit_ = 0;
  Clock::time_point transit_until_{};
  Clock::time_point last_warning_{};
};

}  // namespace

std::shared_ptr<RateLimiter> shared_rate_limiter(const RateLimitConfig& config,
                                                 std::shared_ptr<broker::KeyValue> bucket,
                                                 std::string key, double chunk) {
  return std::make_shared<SharedRateLimiter>(config, std::move(bucket), std::move(key), chunk);
}

}  // namespace fleet::runtime
