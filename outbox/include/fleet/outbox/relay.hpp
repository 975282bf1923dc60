// Relay: publishes committed outbox rows to the broker, marks them sent once the broker
// confirmed them, retries while the broker is away and flags rows the broker keeps refusing.
//
// Delivery: at-least-once into the broker; the event id is the dedup id, so a republish after a
// crash between publish and mark-sent is stored once (inside the stream's duplicate window).
// Threads: run() on one thread; stop() and stats() from any thread (also a signal-handling or
// metrics thread).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "fleet/backoff.hpp"
#include "fleet/broker/transport.hpp"
#include "fleet/outbox/store.hpp"

namespace fleet::outbox {

using std::chrono::milliseconds;

struct RelayConfig {
  // Rows claimed and published per batch.
  std::size_t batch_size = 100;
  // Batches published but not yet confirmed; more overlap claim, publish and mark-sent.
  std::size_t batches_in_flight = 4;
  // A claimed row is skipped by other relays this long; must exceed publish_timeout.
  milliseconds lease{60'000};
  // Longest wait for the broker's confirmations of one batch before it counts as failed.
  milliseconds publish_timeout{10'000};
  // A row the broker refused this many times is flagged and left for an operator.
  int max_attempts = 3;
  // Wait before a refused row is tried again, and before a row whose stream did not answer
  // (it captures the subject but has no leader right now; that costs no attempt).
  milliseconds retry_delay{1'000};
  // While the broker or the database is unreachable: the wait after each failed pass in a row
  // (100 ms doubling up to 5 s, no jitter); a pass that publishes starts it over.
  Backoff outage_backoff{.initial = milliseconds(100),
                         .multiplier = 2.0,
                         .max = milliseconds(5'000),
                         .jitter = Backoff::Jitter::none};
  // Longest sleep when there is nothing to send (PostgreSQL wakes earlier on NOTIFY).
  milliseconds poll_interval{100};
  // Sent rows are deleted once older than this; checked every cleanup_interval.
  milliseconds retention{24 * 3'600'000};
  milliseconds cleanup_interval{60'000};
  // Called with the rows the broker confirmed, just before they are marked sent. An observer
  // for tests and metrics; it must not throw.
  std::function<void(std::span<const std::int64_t>)> before_mark_sent;
  // The wall clock the relay stamps and compares row times with (claims, leases, retry times,
  // sent times, retention). Unset = Clock::now. Injected so tests move time instead of
  // sleeping; waits between passes always use the steady clock.
  std::function<TimePoint()> now;
};

// How long published rows waited: seconds from a row's append to the broker's confirmation.
struct RelayLag {
  // Upper bounds of the buckets, in seconds.
  static const std::vector<double>& buckets();
  std::vector<std::uint64_t> counts;  // per bucket (not cumulative); longer ones only in count
  double sum_seconds = 0;
  std::uint64_t count = 0;

  void add(double seconds);
};

struct RelayStats {
  std::uint64_t published = 0;   // confirmed by the broker and marked sent
  std::uint64_t duplicates = 0;  // of those, the broker already had (a republish)
  std::uint64_t failed = 0;      // publish attempts that failed
  std::uint64_t flagged = 0;     // rows given up after max_attempts
  std::uint64_t deleted = 0;     // sent rows removed after the retention period
  RelayLag lag;                  // of the published rows
};

class Relay {
 public:
  // Both must outlive the relay.
  Relay(OutboxStore& store, broker::Transport& transport, RelayConfig config = {});
  ~Relay();
  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;

  // Relays until stop(); then waits for in-flight batches. Broker and database outages are
  // retried with back-off (logged at warn), never returned.
  Status run();
  // Relays until nothing is claimable and nothing is in flight (rows waiting for their retry
  // time are not waited for). Returns the first database or broker error instead of retrying.
  Status run_until_idle();
  void stop() { stopping_.store(true); }

  RelayStats stats() const;

 private:
  struct Batch;
  enum class Step { worked, idle, failed };
  Step step(bool retry_outages);
  void settle_oldest();
  // Whether a stream captures `subject` (asked once per subject and batch, remembered in
  // `known`); nullopt when the broker cannot tell.
  std::optional<bool> stream_captures(const std::string& subject,
                                      std::map<std::string, std::optional<bool>>& known);
  void back_off();
  void cleanup_if_due();
  void sleep_interruptibly(milliseconds duration);

  OutboxStore& store_;
  broker::Transport& transport_;
  RelayConfig config_;
  std::atomic<bool> stopping_{false};
  std::vector<std::shared_ptr<Batch>> in_flight_;
  std::uint64_t outages_ = 0;  // failed passes in a row, for outage_backoff
  std::chrono::steady_clock::time_point next_cleanup_{};
  // When each subject's "stream did not answer" was last logged.
  std::map<std::string, std::chrono::steady_clock::time_point> away_warned_;
  Error last_error_;
  bool error_pending_ = false;
  std::atomic<std::uint64_t> published_{0}, duplicates_{0}, failed_{0}, flagged_{0}, deleted_{0};
  mutable std::mutex lag_mutex_;  // stats() may read from another thread
  RelayLag lag_;
};

}  // namespace fleet::outbox
