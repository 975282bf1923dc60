#include "order_fulfilment/order_summary.hpp"

#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <optional>

#include "fleet/schemas/codec.hpp"
#include "fleet/sql/sqlite.hpp"
#include "order_fulfilment/orders.hpp"

namespace fleet::projection {

namespace sqlite = sql::sqlite;

// One apply() waiting for its row to be committed.
struct Upsert {
  const schemas::SagaLifecycle* event;
  const schemas::OrderPlaced* order;
  const std::string* occurred_at;
  std::optional<Result<bool>> result;  // under Db::mutex: set once committed (or failed)
};

// Group commit: calls that arrive while a transaction is being written queue up, and the next
// caller to find the connection free writes all of them in one transaction. Each call still
// returns only once its own row is committed. With a transaction per event, about a third of
// the projection's CPU went to WAL writes, file locks and checkpoints (docs/benchmarks.md).
struct OrderSummary::Db {
  sqlite::Database db;
  sqlite::Statement upsert;  // prepared once: parsing it cost a quarter of each apply
  std::mutex mutex;          // the connection is opened without SQLite's own mutex
  std::condition_variable committed;
  std::vector<Upsert*> queued;  // under mutex
  bool writing = false;         // under mutex: a caller is writing a batch
};

namespace {

// Version 1 of the schema; later versions add migrations keyed by PRAGMA user_version.
constexpr const char* schema = R"sql(
CREATE TABLE IF NOT EXISTS order_summary (
  order_id     TEXT PRIMARY KEY,
  status       TEXT NOT NULL,
  step         TEXT NOT NULL,
  reason       TEXT NOT NULL,
  version      INTEGER NOT NULL,
  customer_id  TEXT NOT NULL,
  sku          TEXT NOT NULL,
  quantity     INTEGER NOT NULL,
  amount_cents INTEGER NOT NULL,
  region       TEXT NOT NULL,
  placed_at    TEXT NOT NULL,
  updated_at   TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS order_summary_status ON order_summary (status);
PRAGMA user_version = 1;
)sql";

// Insert, or replace the row when the event's version is newer than the stored one.
constexpr const char* upsert = R"sql(
INSERT INTO order_summary (order_id, status, step, reason, version, customer_id, sku, quantity,
                           amount_cents, region, placed_at, updated_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
ON CONFLICT (order_id) DO UPDATE SET
  status = excluded.status, step = excluded.step, reason = excluded.reason,
  version = excluded.version, updated_at = excluded.updated_at
WHERE excluded.version > order_summary.version
)sql";

}  // namespace

std::string default_path() {
  const char* path = std::getenv("FLEET_ORDER_SUMMARY_DB");
  return path != nullptr && *path != '\0' ? path : "order_summary.db";
}

OrderSummary::OrderSummary(std::unique_ptr<Db> db) : db_(std::move(db)) {}
OrderSummary::~OrderSummary() = default;
OrderSummary::OrderSummary(OrderSummary&&) noexcept = default;
OrderSummary& OrderSummary::operator=(OrderSummary&&) noexcept = default;

Result<OrderSummary> OrderSummary::open(const std::string& path) {
  auto db = sqlite::open_database(path);
  if (!db) return fail(db.error());
  if (auto ok = sqlite::retry_while_busy([&] { return sqlite::exec(db->get(), schema); }); !ok) {
    return fail(ok.error().code, path + ": " + ok.error().message);
  }
  auto stmt = sqlite::prepare(db->get(), upsert);
  if (!stmt) return fail(stmt.error().code, path + ": " + stmt.error().message);
  auto state = std::make_unique<Db>();
  state->db = std::move(*db);
  state->upsert = std::move(*stmt);
  return OrderSummary(std::move(state));
}

namespace {

Result<bool> run_upsert(sqlite3_stmt* stmt, const Upsert& u) {
  sqlite::Query q(stmt);
  const auto& event = *u.event;
  const auto& order = *u.order;
  q.bind(1, event.saga_id).bind(2, event.status).bind(3, event.step_name).bind(4, event.reason);
  q.bind(5, static_cast<std::int64_t>(event.version));
  q.bind(6, order.customer_id).bind(7, order.sku);
  q.bind(8, static_cast<std::int64_t>(order.quantity)).bind(9, order.amount_cents);
  q.bind(10, order.region).bind(11, event.started_at).bind(12, *u.occurred_at);
  if (auto ok = q.run("apply"); !ok) return fail(ok.error());
  return q.changes() > 0;
}

// Writes `batch` in one transaction and answers for each row. If any part fails, the
// transaction is rolled back and each row is written on its own, so one row's failure is that
// row's alone.
std::vector<Result<bool>> write_batch(sqlite3* db, sqlite3_stmt* stmt,
                                      const std::vector<Upsert*>& batch) {
  std::vector<Result<bool>> results;
  if (batch.size() > 1) {
    sqlite::Transaction tx(db);
    bool ok = static_cast<bool>(tx.begin());
    for (std::size_t i = 0; ok && i < batch.size(); ++i) {
      results.push_back(run_upsert(stmt, *batch[i]));
      ok = results.back().has_value();
    }
    if (ok && tx.commit()) return results;
    results.clear();
  }
  for (const Upsert* u : batch) results.push_back(run_upsert(stmt, *u));
  return results;
}

}  // namespace

Result<bool> OrderSummary::apply(const schemas::SagaLifecycle& event,
                                 const std::string& occurred_at) {
  auto order =
      schemas::decode<schemas::OrderPlaced>(std::string_view(event.data.data(), event.data.size()));
  if (!order) return fail(order.error());
  Upsert mine{.event = &event, .order = &*order, .occurred_at = &occurred_at, .result = {}};
  std::unique_lock lock(db_->mutex);
  db_->queued.push_back(&mine);
  while (!mine.result) {
    if (db_->writing) {
      db_->committed.wait(lock);
      continue;
    }
    // This caller writes every row queued so far (its own among them).
    std::vector<Upsert*> batch;
    batch.swap(db_->queued);
    db_->writing = true;
    lock.unlock();
    auto results = write_batch(db_->db.get(), db_->upsert.get(), batch);
    lock.lock();  // results are handed over under the lock: their callers read them under it
    for (std::size_t i = 0; i < batch.size(); ++i) batch[i]->result = std::move(results[i]);
    db_->writing = false;
    db_->committed.notify_all();
  }
  return std::move(*mine.result);
}

Result<std::vector<OrderRow>> OrderSummary::query(const OrderQuery& q) const {
  std::string sql =
      "SELECT order_id, status, step, reason, version, customer_id, sku, quantity, amount_cents, "
      "region, placed_at, updated_at FROM order_summary WHERE (?1 = '' OR status = ?1) "
      "AND (?2 = '' OR order_id = ?2) ORDER BY placed_at, order_id";
  if (q.limit > 0) sql += " LIMIT " + std::to_string(q.limit);
  std::unique_lock lock(db_->mutex);
  db_->committed.wait(lock, [&] { return !db_->writing; });  // the connection is free
  auto stmt = sqlite::prepare(db_->db.get(), sql);
  if (!stmt) return fail(stmt.error());
  sqlite::Query s(stmt->get());
  s.bind(1, q.status).bind(2, q.order_id);
  std::vector<OrderRow> rows;
  for (;;) {
    auto row = s.step("query");
    if (!row) return fail(row.error());
    if (!*row) return rows;
    rows.push_back({.order_id = s.bytes(0),
                    .status = s.bytes(1),
                    .step = s.bytes(2),
                    .reason = s.bytes(3),
                    .version = static_cast<std::uint64_t>(s.int64(4)),
                    .customer_id = s.bytes(5),
                    .sku = s.bytes(6),
                    .quantity = s.int64(7),
                    .amount_cents = s.int64(8),
                    .region = s.bytes(9),
                    .placed_at = s.bytes(10),
                    .updated_at = s.bytes(11)});
  }
}

Status OrderSummary::clear() {
  std::unique_lock lock(db_->mutex);
  db_->committed.wait(lock, [&] { return !db_->writing; });  // the connection is free
  return sqlite::exec(db_->db.get(), "DELETE FROM order_summary");
}

}  // namespace fleet::projection
