// OutboxStore: what the relay (and `fleet outbox status`) needs from the table that business
// transactions append to. One implementation per database (sqlite_store, postgres_store).
//
// Threads: a store is used by one thread at a time. Time is passed in, so tests control it.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fleet/error.hpp"
#include "fleet/outbox/event.hpp"

namespace fleet::outbox {

using Clock = std::chrono::system_clock;
using TimePoint = Clock::time_point;

struct Counts {
  std::uint64_t pending = 0;  // not yet sent and not flagged
  std::uint64_t flagged = 0;  // gave up after max attempts; waits for an operator
  std::uint64_t sent = 0;     // confirmed by the broker, kept until the retention period ends
  // When the oldest pending row was appended (its transaction's insert); none when nothing is
  // pending. Now minus this is how far the relay is behind.
  std::optional<std::chrono::system_clock::time_point> oldest_pending;
};

// A publish that did not succeed.
struct Failure {
  std::int64_t row = 0;
  std::string error;
  bool counts = true;  // false while the broker is unreachable: not the row's fault
};

struct FlaggedEvent {
  std::int64_t row = 0;
  std::string event_id;
  std::string subject;
  int attempts = 0;
  std::string last_error;
};

class OutboxStore {
 public:
  virtual ~OutboxStore() = default;

  // Claims up to `max` unsent, unflagged rows whose retry time has come, lowest id first,
  // skipping rows this store handed out that are not yet settled (mark_sent / record_failures).
  // Rows are selected afresh on every call (no "id > last seen" cursor), so a row whose
  // transaction commits late is never skipped. `lease` keeps other relays away: PostgreSQL
  // leases each claimed row (concurrent relays share the work); SQLite leases the whole outbox
  // to one relay, and a standby relay gets an empty claim until that lease runs out.
  virtual Result<std::vector<PendingEvent>> claim(std::size_t max, TimePoint now,
                                                  std::chrono::milliseconds lease) = 0;
  // Marks rows the broker confirmed as sent.
  virtual Status mark_sent(std::span<const std::int64_t> rows, TimePoint now) = 0;
  // Records failed publishes. A failure that counts adds an attempt; a row reaching
  // `max_attempts` is flagged. Every row becomes claimable again at `retry_at`.
  // Returns the rows flagged by this call.
  virtual Result<std::vector<FlaggedEvent>> record_failures(std::span<const Failure> failures,
                                                            TimePoint now, TimePoint retry_at,
                                                            int max_attempts) = 0;
  // Deletes sent rows whose sent time is before `cutoff`; returns how many.
  virtual Result<std::uint64_t> delete_sent_before(TimePoint cutoff) = 0;

  virtual Result<Counts> counts() = 0;
  virtual Result<std::vector<FlaggedEvent>> flagged(std::size_t limit) = 0;
  // Puts flagged rows back in the queue with zero attempts: one row, or all when row == 0.
  virtual Result<std::uint64_t> requeue(std::int64_t row) = 0;

  // Waits up to `timeout` for rows committed since the last call: true when some were announced.
  // PostgreSQL wakes on NOTIFY at once; SQLite has no cross-process notification, sleeps and
  // returns false.
  virtual Result<bool> wait_for_work(std::chrono::milliseconds timeout) = 0;
};

// Opens the outbox behind `url` for a relay or an operator: `sqlite:PATH` or `postgres://...` /
// `postgresql://...` (any libpq connection URI). Creates or migrates the schema.
// Errc::invalid_argument for an unknown scheme, Errc::unavailable when the database is
// unreachable.
Result<std::unique_ptr<OutboxStore>> open_store(std::string_view url);

}  // namespace fleet::outbox
