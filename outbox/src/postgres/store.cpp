// OutboxStore on PostgreSQL. Sequence values are taken at insert but rows become visible at
// commit, so ids do not arrive in order; claim() therefore selects unsent rows afresh every
// time. FOR UPDATE SKIP LOCKED plus a lease (available_at) keeps concurrent relays apart.
#include <poll.h>

#include <algorithm>

#include "fleet/outbox/postgres.hpp"
#include "stored_headers.hpp"
#include "stores.hpp"

namespace fleet::outbox::postgres {
namespace {

namespace pg = sql::postgres;
using pg::query;

constexpr const char* channel_listen = "LISTEN fleet_outbox";

using pg::bytes;

std::string number(std::int64_t n) {
  return std::to_string(n);
}

class PostgresStore final : public OutboxStore {
 public:
  explicit PostgresStore(Connection conn) : conn_(std::move(conn)) {}

  // The relay's session: LISTEN for appends. Its commits skip the WAL flush wait: a mark-sent
  // lost in a server crash only republishes events the broker deduplicates by id.
  Status start_session() {
    if (auto ok = query(conn_.get(), "listen", channel_listen); !ok) return fail(ok.error());
    if (auto ok = query(conn_.get(), "session settings", "SET synchronous_commit = off"); !ok) {
      return fail(ok.error());
    }
    return {};
  }

  Result<std::vector<PendingEvent>> claim(std::size_t max, TimePoint now,
                                          std::chrono::milliseconds lease) override {
    if (auto ok = reconnect_if_lost(); !ok) return fail(ok.error());
    auto result = query(
        conn_.get(), "claim outbox rows",
        // = ANY(ARRAY(...)): the planner looks the ids up by primary key instead of joining
        // the subquery against a scan of the whole table.
        "UPDATE fleet_outbox SET available_at = $1::bigint + $2::bigint"
        " WHERE id = ANY(ARRAY(SELECT id FROM fleet_outbox"
        "  WHERE sent_at IS NULL AND flagged_at IS NULL AND available_at <= $1"
        "  ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED))"
        " RETURNING id, attempts, event_id, subject, headers, body, created_at",
        {number(to_millis(now)), number(lease.count()), number(static_cast<std::int64_t>(max))},
        pg::Rows::binary);
    if (!result) return fail(result.error());
    const PGresult* rows = result->get();
    std::vector<PendingEvent> events;
    events.reserve(PQntuples(rows));
    for (int i = 0; i < PQntuples(rows); ++i) {
      PendingEvent event;
      event.row = pg::int8(rows, i, 0);
      event.attempts = pg::int4(rows, i, 1);
      event.message.dedup_id = bytes(rows, i, 2);
      event.message.subject = bytes(rows, i, 3);
      // A row whose headers cannot be read is still published with its id; the consumer's
      // decoding reports what is missing.
      if (auto headers = headers_from_text(bytes(rows, i, 4))) {
        event.message.headers = std::move(*headers);
      }
      event.message.body = bytes(rows, i, 5);
      event.created_at = from_millis(pg::int8(rows, i, 6));
      events.push_back(std::move(event));
    }
    std::ranges::sort(events, {}, &PendingEvent::row);  // RETURNING has no defined order
    return events;
  }

  Status mark_sent(std::span<const std::int64_t> rows, TimePoint now) override {
    if (rows.empty()) return {};
    std::string array = "{";
    for (auto row : rows) array += number(row) + ",";
    array.back() = '}';
    auto ok = query(conn_.get(), "mark outbox rows sent",
                    "UPDATE fleet_outbox SET sent_at = $1 WHERE id = ANY($2::bigint[])",
                    {number(to_millis(now)), array});
    if (!ok) return fail(ok.error());
    return {};
  }

  Result<std::vector<FlaggedEvent>> record_failures(std::span<const Failure> failures,
                                                    TimePoint now, TimePoint retry_at,
                                                    int max_attempts) override {
    std::vector<FlaggedEvent> flagged;
    pg::Transaction transaction(conn_.get());
    if (auto ok = transaction.begin(); !ok) return fail(ok.error());
    for (const auto& failure : failures) {
      auto result = query(
          conn_.get(), "record outbox failure",
          "UPDATE fleet_outbox SET attempts = attempts + $2::int, last_error = $3,"
          " available_at = $4,"
          " flagged_at = CASE WHEN attempts + $2::int >= $5::int THEN $6::bigint ELSE NULL END"
          " WHERE id = $1 RETURNING flagged_at IS NOT NULL, event_id, subject, attempts",
          {number(failure.row), failure.counts ? "1" : "0", failure.error,
           number(to_millis(retry_at)), number(max_attempts), number(to_millis(now))});
      if (!result) return fail(result.error());
      if (PQntuples(result->get()) == 1 && bytes(result->get(), 0, 0) == "t") {
        flagged.push_back({.row = failure.row,
                           .event_id = bytes(result->get(), 0, 1),
                           .subject = bytes(result->get(), 0, 2),
                           .attempts = std::stoi(bytes(result->get(), 0, 3)),
                           .last_error = failure.error});
      }
    }
    if (auto ok = transaction.commit(); !ok) return fail(ok.error());
    return flagged;
  }

  Result<std::uint64_t> delete_sent_before(TimePoint cutoff) override {
    auto result = query(conn_.get(), "delete sent outbox rows",
                        "DELETE FROM fleet_outbox WHERE sent_at IS NOT NULL AND sent_at < $1",
                        {number(to_millis(cutoff))});
    if (!result) return fail(result.error());
    return pg::affected(result->get());
  }

  Result<Counts> counts() override {
    auto result = query(conn_.get(), "count outbox rows",
                        "SELECT count(*) FILTER (WHERE sent_at IS NULL AND flagged_at IS NULL),"
                        " count(*) FILTER (WHERE flagged_at IS NOT NULL),"
                        " count(*) FILTER (WHERE sent_at IS NOT NULL),"
                        " min(created_at) FILTER (WHERE sent_at IS NULL AND flagged_at IS NULL)"
                        " FROM fleet_outbox");
    if (!result) return fail(result.error());
    Counts counts{.pending = std::stoull(bytes(result->get(), 0, 0)),
                  .flagged = std::stoull(bytes(result->get(), 0, 1)),
                  .sent = std::stoull(bytes(result->get(), 0, 2))};
    if (!PQgetisnull(result->get(), 0, 3)) {
      counts.oldest_pending = from_millis(std::stoll(bytes(result->get(), 0, 3)));
    }
    return counts;
  }

  Result<std::vector<FlaggedEvent>> flagged(std::size_t limit) override {
    auto result = query(conn_.get(), "list flagged outbox rows",
                        "SELECT id, event_id, subject, attempts, coalesce(last_error, '')"
                        " FROM fleet_outbox WHERE flagged_at IS NOT NULL ORDER BY id LIMIT $1",
                        {number(static_cast<std::int64_t>(limit))});
    if (!result) return fail(result.error());
    std::vector<FlaggedEvent> events;
    for (int i = 0; i < PQntuples(result->get()); ++i) {
      events.push_back({.row = std::stoll(bytes(result->get(), i, 0)),
                        .event_id = bytes(result->get(), i, 1),
                        .subject = bytes(result->get(), i, 2),
                        .attempts = std::stoi(bytes(result->get(), i, 3)),
                        .last_error = bytes(result->get(), i, 4)});
    }
    return events;
  }

  Result<std::uint64_t> requeue(std::int64_t row) override {
    auto result = query(conn_.get(), "requeue outbox rows",
                        "UPDATE fleet_outbox SET flagged_at = NULL, attempts = 0, available_at = 0"
                        " WHERE flagged_at IS NOT NULL AND ($1::bigint = 0 OR id = $1::bigint)",
                        {number(row)});
    if (!result) return fail(result.error());
    return pg::affected(result->get());
  }

  Result<bool> wait_for_work(std::chrono::milliseconds timeout) override {
    if (auto ok = reconnect_if_lost(); !ok) return fail(ok.error());
    // Notifications that arrived during earlier queries are already queued in libpq.
    if (drain_notifications()) return true;
    pollfd fd{.fd = PQsocket(conn_.get()), .events = POLLIN, .revents = 0};
    if (::poll(&fd, 1, static_cast<int>(timeout.count())) > 0) {
      if (PQconsumeInput(conn_.get()) == 0) {
        return fail(pg::error_of(conn_.get(), nullptr, "wait for outbox notifications"));
      }
      return drain_notifications();
    }
    return false;
  }

 private:
  bool drain_notifications() {
    PQconsumeInput(conn_.get());
    bool any = false;
    while (PGnotify* note = PQnotifies(conn_.get())) {
      PQfreemem(note);
      any = true;
    }
    return any;
  }

  Status reconnect_if_lost() {
    if (PQstatus(conn_.get()) == CONNECTION_OK) return {};
    if (auto ok = pg::reconnect(conn_.get()); !ok) return ok;
    return start_session();
  }

  Connection conn_;
};

}  // namespace

Result<std::unique_ptr<OutboxStore>> open_store(const std::string& url) {
  auto conn = connect(url);
  if (!conn) return fail(conn.error());
  if (auto ok = ensure_schema(conn->get()); !ok) return fail(ok.error());
  auto store = std::make_unique<PostgresStore>(std::move(*conn));
  if (auto ok = store->start_session(); !ok) return fail(ok.error());
  return std::unique_ptr<OutboxStore>(std::move(store));
}

}  // namespace fleet::outbox::postgres
