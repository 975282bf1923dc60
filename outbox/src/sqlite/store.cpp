// OutboxStore on SQLite. SQLite has one writer at a time, so ids are handed out in commit order;
// the relay still selects unsent rows afresh each time, like on PostgreSQL. One relay per file
// is active at a time (a relay lease row); rows it has in flight are excluded in memory.
#include <algorithm>
#include <thread>
#include <unordered_set>

#include "fleet/outbox/sqlite.hpp"
#include "fleet/schemas/envelope.hpp"
#include "stored_headers.hpp"
#include "stores.hpp"

namespace fleet::outbox::sqlite {
namespace {

using sql::sqlite::prepare;
using sql::sqlite::Query;
using sql::sqlite::Transaction;

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
    Query query(stmt);
    query.bind(1, to_millis(now)).bind(2, static_cast<std::int64_t>(max + in_flight_.size()));
    std::vector<PendingEvent> events;
    while (events.size() < max) {
      auto found = query.step("claim outbox rows");
      if (!found) return fail(found.error());
      if (!*found) break;
      const std::int64_t row = query.int64(0);
      if (in_flight_.contains(row)) continue;  // handed out, not yet settled
      PendingEvent event;
      event.row = row;
      event.attempts = static_cast<int>(query.int64(1));
      event.message.dedup_id = query.bytes(2);
      event.message.subject = query.bytes(3);
      // A row whose headers cannot be read is still published with its id; the consumer's
      // decoding reports what is missing.
      if (auto headers = headers_from_text(query.bytes(4))) {
        event.message.headers = std::move(*headers);
      }
      event.message.body = query.bytes(5);
      event.created_at = from_millis(query.int64(6));
      events.push_back(std::move(event));
    }
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
    Query query(stmt);
    query.bind(1, to_millis(now)).bind(2, ids);
    return query.run("mark outbox rows sent");
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
      Query query(stmt);
      query.bind(1, failure.row).bind(2, std::int64_t{failure.counts ? 1 : 0});
      query.bind(3, failure.error).bind(4, to_millis(retry_at));
      query.bind(5, std::int64_t{max_attempts}).bind(6, to_millis(now));
      auto row = query.step("record outbox failures");
      if (!row) return fail(row.error());
      if (*row && query.int64(0) != 0) {
        flagged.push_back({.row = failure.row,
                           .event_id = query.bytes(1),
                           .subject = query.bytes(2),
                           .attempts = static_cast<int>(query.int64(3)),
                           .last_error = failure.error});
      }
      if (auto ok = query.run("record outbox failures"); !ok) return fail(ok.error());
    }
    if (auto ok = transaction.commit(); !ok) return fail(ok.error());
    return flagged;
  }

  Result<std::uint64_t> delete_sent_before(TimePoint cutoff) override {
    auto* stmt =
        statement(cleanup_, "DELETE FROM fleet_outbox WHERE sent_at IS NOT NULL AND sent_at < ?1");
    if (!stmt) return fail(error_);
    Query query(stmt);
    query.bind(1, to_millis(cutoff));
    if (auto ok = query.run("delete sent outbox rows"); !ok) return fail(ok.error());
    return static_cast<std::uint64_t>(query.changes());
  }

  Result<Counts> counts() override {
    auto stmt = prepare(db_.get(),
                        "SELECT count(*) FILTER (WHERE sent_at IS NULL AND flagged_at IS NULL),"
                        " count(*) FILTER (WHERE flagged_at IS NOT NULL),"
                        " count(*) FILTER (WHERE sent_at IS NOT NULL),"
                        " min(created_at) FILTER (WHERE sent_at IS NULL AND flagged_at IS NULL)"
                        " FROM fleet_outbox");
    if (!stmt) return fail(stmt.error());
    Query query(stmt->get());
    auto row = query.step("count outbox rows");
    if (!row) return fail(row.error());
    Counts counts{.pending = static_cast<std::uint64_t>(query.int64(0)),
                  .flagged = static_cast<std::uint64_t>(query.int64(1)),
                  .sent = static_cast<std::uint64_t>(query.int64(2))};
    if (!query.is_null(3)) counts.oldest_pending = from_millis(query.int64(3));
    return counts;
  }

  Result<std::vector<FlaggedEvent>> flagged(std::size_t limit) override {
    auto stmt = prepare(db_.get(),
                        "SELECT id, event_id, subject, attempts, coalesce(last_error, '')"
                        " FROM fleet_outbox WHERE flagged_at IS NOT NULL ORDER BY id LIMIT ?1");
    if (!stmt) return fail(stmt.error());
    Query query(stmt->get());
    query.bind(1, static_cast<std::int64_t>(limit));
    std::vector<FlaggedEvent> events;
    for (;;) {
      auto row = query.step("list flagged outbox rows");
      if (!row) return fail(row.error());
      if (!*row) return events;
      events.push_back({.row = query.int64(0),
                        .event_id = query.bytes(1),
                        .subject = query.bytes(2),
                        .attempts = static_cast<int>(query.int64(3)),
                        .last_error = query.bytes(4)});
    }
  }

  Result<std::uint64_t> requeue(std::int64_t row) override {
    auto stmt = prepare(db_.get(),
                        "UPDATE fleet_outbox SET flagged_at = NULL, attempts = 0, available_at = 0"
                        " WHERE flagged_at IS NOT NULL AND (?1 = 0 OR id = ?1)");
    if (!stmt) return fail(stmt.error());
    Query query(stmt->get());
    query.bind(1, row);
    if (auto ok = query.run("requeue outbox rows"); !ok) return fail(ok.error());
    return static_cast<std::uint64_t>(query.changes());
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
    Query query(stmt);
    query.bind(1, holder_).bind(2, now + lease.count()).bind(3, now);
    if (auto ok = query.run("take the outbox relay lease"); !ok) return fail(ok.error());
    if (query.changes() != 1) {
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
