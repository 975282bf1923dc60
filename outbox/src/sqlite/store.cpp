// OutboxStore on SQLite. SQLite has one writer at a time, so ids are handed out in commit order;
// the relay still selects unsent rows afresh each time, like on PostgreSQL. One relay per file
// is active at a time (a relay lease row); rows it has in flight are excluded in memory.
#include <algorithm>
#include <thread>
#include <unordered_set>

#include "connection.hpp"
#include "fleet/schemas/envelope.hpp"
#include "stored_headers.hpp"
#include "stores.hpp"

namespace fleet::outbox::sqlite {
namespace {

class SqliteStore final : public OutboxStore {
 public:
  explicit SqliteStore(Database db) : db_(std::move(db)), holder_(schemas::new_event_id()) {}

  Result<std::vector<PendingEvent>> claim(std::size_t max, TimePoint now,
                                          std::chrono::milliseconds lease) override {
    auto held = hold_relay_lease(to_millis(now), lease);
    if (!held) return fail(held.error());
    if (!*held) return std::vector<PendingEvent>{};  // another relay is active: stand by
    auto* stmt = statement(claim_,
                           "SELECT id, attempts, event_id, subject, headers, body, created_at"
                           " FROM fleet_outbox"
                           " WHERE sent_at IS NULL AND flagged_at IS NULL AND available_at <= ?1"
                           " ORDER BY id LIMIT ?2");
    if (!stmt) return fail(error_);
    sqlite::bind(stmt, 1, to_millis(now));
    sqlite::bind(stmt, 2, static_cast<std::int64_t>(max + in_flight_.size()));
    std::vector<PendingEvent> events;
    int rc = SQLITE_DONE;
    while (events.size() < max && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      const std::int64_t row = sqlite3_column_int64(stmt, 0);
      if (in_flight_.contains(row)) continue;  // handed out, not yet settled
      PendingEvent event;
      event.row = row;
      event.attempts = sqlite3_column_int(stmt, 1);
      event.message.dedup_id = column_text(stmt, 2);
      event.message.subject = column_text(stmt, 3);
      // A row whose headers cannot be read is still published with its id; the consumer's
      // decoding reports what is missing.
      if (auto headers = headers_from_text(column_text(stmt, 4))) {
        event.message.headers = std::move(*headers);
      }
      event.message.body = column_text(stmt, 5);
      event.created_at = from_millis(sqlite3_column_int64(stmt, 6));
      events.push_back(std::move(event));
    }
    if (events.size() == max) rc = SQLITE_DONE;
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    if (rc != SQLITE_DONE) return fail(error_of(db_.get(), rc, "claim outbox rows"));
    for (const auto& e : events) in_flight_.insert(e.row);
    return events;
  }

  Status mark_sent(std::span<const std::int64_t> rows, TimePoint now) override {
    // Settled either way: if the update fails the rows are selected and published again.
    for (auto row : rows) in_flight_.erase(row);
    if (rows.empty()) return {};
    auto* stmt = statement(mark_sent_,
                           "UPDATE fleet_outbox SET sent_at = ?1"
                           " WHERE id IN (SELECT value FROM json_each(?2))");
    if (!stmt) return fail(error_);
    std::string ids = "[";
    for (auto row : rows) ids.append(std::to_string(row)).append(",");
    ids.back() = ']';
    sqlite::bind(stmt, 1, to_millis(now));
    sqlite::bind(stmt, 2, ids);
    return run(db_.get(), stmt, "mark outbox rows sent");
  }

  Result<std::vector<FlaggedEvent>> record_failures(std::span<const Failure> failures,
                                                    TimePoint now, TimePoint retry_at,
                                                    int max_attempts) override {
    for (const auto& failure : failures) in_flight_.erase(failure.row);
    auto* stmt = statement(
        failure_,
        "UPDATE fleet_outbox SET attempts = attempts + ?2, last_error = ?3, available_at = ?4,"
        " flagged_at = CASE WHEN attempts + ?2 >= ?5 THEN ?6 ELSE NULL END WHERE id = ?1"
        " RETURNING flagged_at IS NOT NULL, event_id, subject, attempts");
    if (!stmt) return fail(error_);
    std::vector<FlaggedEvent> flagged;
    Transaction transaction(db_.get());
    if (auto ok = transaction.begin(); !ok) return fail(ok.error());
    for (const auto& failure : failures) {
      sqlite::bind(stmt, 1, failure.row);
      sqlite::bind(stmt, 2, std::int64_t{failure.counts ? 1 : 0});
      sqlite::bind(stmt, 3, failure.error);
      sqlite::bind(stmt, 4, to_millis(retry_at));
      sqlite::bind(stmt, 5, std::int64_t{max_attempts});
      sqlite::bind(stmt, 6, to_millis(now));
      int rc = sqlite3_step(stmt);
      if (rc == SQLITE_ROW && sqlite3_column_int(stmt, 0) != 0) {
        flagged.push_back({.row = failure.row,
                           .event_id = column_text(stmt, 1),
                           .subject = column_text(stmt, 2),
                           .attempts = sqlite3_column_int(stmt, 3),
                           .last_error = failure.error});
      }
      if (rc == SQLITE_ROW) rc = sqlite3_step(stmt);
      sqlite3_reset(stmt);
      sqlite3_clear_bindings(stmt);
      if (rc != SQLITE_DONE) return fail(error_of(db_.get(), rc, "record outbox failures"));
    }
    if (auto ok = transaction.commit(); !ok) return fail(ok.error());
    return flagged;
  }

  Result<std::uint64_t> delete_sent_before(TimePoint cutoff) override {
    auto* stmt =
        statement(cleanup_, "DELETE FROM fleet_outbox WHERE sent_at IS NOT NULL AND sent_at < ?1");
    if (!stmt) return fail(error_);
    sqlite::bind(stmt, 1, to_millis(cutoff));
    if (auto ok = run(db_.get(), stmt, "delete sent outbox rows"); !ok) return fail(ok.error());
    return static_cast<std::uint64_t>(sqlite3_changes(db_.get()));
  }

  Result<Counts> counts() override {
    auto stmt = prepare(db_.get(),
                        "SELECT count(*) FILTER (WHERE sent_at IS NULL AND flagged_at IS NULL),"
                        " count(*) FILTER (WHERE flagged_at IS NOT NULL),"
                        " count(*) FILTER (WHERE sent_at IS NOT NULL),"
                        " min(created_at) FILTER (WHERE sent_at IS NULL AND flagged_at IS NULL)"
                        " FROM fleet_outbox");
    if (!stmt) return fail(stmt.error());
    const int rc = sqlite3_step(stmt->get());
    if (rc != SQLITE_ROW) return fail(error_of(db_.get(), rc, "count outbox rows"));
    Counts counts{.pending = static_cast<std::uint64_t>(sqlite3_column_int64(stmt->get(), 0)),
                  .flagged = static_cast<std::uint64_t>(sqlite3_column_int64(stmt->get(), 1)),
                  .sent = static_cast<std::uint64_t>(sqlite3_column_int64(stmt->get(), 2))};
    if (sqlite3_column_type(stmt->get(), 3) != SQLITE_NULL) {
      counts.oldest_pending = from_millis(sqlite3_column_int64(stmt->get(), 3));
    }
    return counts;
  }

  Result<std::vector<FlaggedEvent>> flagged(std::size_t limit) override {
    auto stmt = prepare(db_.get(),
                        "SELECT id, event_id, subject, attempts, coalesce(last_error, '')"
                        " FROM fleet_outbox WHERE flagged_at IS NOT NULL ORDER BY id LIMIT ?1");
    if (!stmt) return fail(stmt.error());
    sqlite::bind(stmt->get(), 1, static_cast<std::int64_t>(limit));
    std::vector<FlaggedEvent> events;
    int rc;
    while ((rc = sqlite3_step(stmt->get())) == SQLITE_ROW) {
      events.push_back({.row = sqlite3_column_int64(stmt->get(), 0),
                        .event_id = column_text(stmt->get(), 1),
                        .subject = column_text(stmt->get(), 2),
                        .attempts = sqlite3_column_int(stmt->get(), 3),
                        .last_error = column_text(stmt->get(), 4)});
    }
    if (rc != SQLITE_DONE) return fail(error_of(db_.get(), rc, "list flagged outbox rows"));
    return events;
  }

  Result<std::uint64_t> requeue(std::int64_t row) override {
    auto stmt = prepare(db_.get(),
                        "UPDATE fleet_outbox SET flagged_at = NULL, attempts = 0, available_at = 0"
                        " WHERE flagged_at IS NOT NULL AND (?1 = 0 OR id = ?1)");
    if (!stmt) return fail(stmt.error());
    sqlite::bind(stmt->get(), 1, row);
    if (auto ok = run(db_.get(), stmt->get(), "requeue outbox rows"); !ok) return fail(ok.error());
    return static_cast<std::uint64_t>(sqlite3_changes(db_.get()));
  }

  Result<bool> wait_for_work(std::chrono::milliseconds timeout) override {
    std::this_thread::sleep_for(timeout);
    return false;
  }

 private:
  // One relay per SQLite file is active; others stand by until its lease runs out. SQLite has a
  // single writer anyway, and without per-row leases a claim is a read, not a write.
  // Renewed when a third of the lease is used up.
  Result<bool> hold_relay_lease(std::int64_t now, std::chrono::milliseconds lease) {
    if (now < renew_at_) return true;
    auto* stmt =
        statement(lease_,
                  "INSERT INTO fleet_outbox_relay_lease (id, holder, until) VALUES (1, ?1, ?2)"
                  " ON CONFLICT (id) DO UPDATE SET holder = excluded.holder, until = excluded.until"
                  " WHERE fleet_outbox_relay_lease.holder = excluded.holder"
                  " OR fleet_outbox_relay_lease.until <= ?3");
    if (!stmt) return fail(error_);
    sqlite::bind(stmt, 1, holder_);
    sqlite::bind(stmt, 2, now + lease.count());
    sqlite::bind(stmt, 3, now);
    if (auto ok = run(db_.get(), stmt, "take the outbox relay lease"); !ok) return fail(ok.error());
    if (sqlite3_changes(db_.get()) != 1) {
      renew_at_ = 0;
      // Whatever this store handed out before losing the lease is the new holder's now.
      in_flight_.clear();
      return false;
    }
    renew_at_ = now + lease.count() / 3;
    return true;
  }

  // Prepared once, on first use; nullptr (with error_ set) when preparing failed.
  sqlite3_stmt* statement(Statement& slot, std::string_view sql) {
    if (!slot) {
      auto prepared = prepare(db_.get(), sql);
      if (!prepared) {
        error_ = prepared.error();
        return nullptr;
      }
      slot = std::move(*prepared);
    }
    return slot.get();
  }

  Database db_;
  Statement claim_, mark_sent_, failure_, cleanup_, lease_;
  Error error_;
  std::string holder_;         // this store's relay lease holder id
  std::int64_t renew_at_ = 0;  // ms; the lease is renewed at the first claim after this
  std::unordered_set<std::int64_t> in_flight_;  // claimed, not yet marked sent or failed
};

}  // namespace

Result<std::unique_ptr<OutboxStore>> open_store(const std::string& path) {
  auto db = open_database(path);
  if (!db) return fail(db.error());
  if (auto ok = ensure_schema(db->get()); !ok) return fail(ok.error());
  return std::unique_ptr<OutboxStore>(std::make_unique<SqliteStore>(std::move(*db)));
}

}  // namespace fleet::outbox::sqlite
