#include "fleet/projection/order_summary.hpp"

#include <cstdlib>
#include <mutex>

#include "fleet/schemas/codec.hpp"
#include "fleet/schemas/events/orders.hpp"
#include "sqlite.hpp"

namespace fleet::projection {

struct OrderSummary::Db {
  sqlite::DbPtr db;
  std::mutex mutex;
};

namespace {

// Version 1 of the schema; later versions add migrations keyed by PRAGMA user_version.
constexpr const char* schema = R"sql(
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
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
  sqlite3* raw = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  sqlite::DbPtr db(raw);
  if (rc != SQLITE_OK) return fail(sqlite::error(raw, "open " + path));
  sqlite3_busy_timeout(db.get(), 5'000);
  if (auto ok = sqlite::exec(db.get(), schema); !ok) {
    return fail(Errc::unavailable, path + ": " + ok.error().message);
  }
  auto state = std::make_unique<Db>();
  state->db = std::move(db);
  return OrderSummary(std::move(state));
}

Result<bool> OrderSummary::apply(const schemas::SagaLifecycle& event,
                                 const std::string& occurred_at) {
  auto order =
      schemas::decode<schemas::OrderPlaced>(std::string_view(event.data.data(), event.data.size()));
  if (!order) return fail(order.error());
  std::lock_guard lock(db_->mutex);
  auto stmt = sqlite::prepare(db_->db.get(), upsert);
  if (!stmt) return fail(stmt.error());
  sqlite3_stmt* s = stmt->get();
  sqlite::bind(s, 1, event.saga_id);
  sqlite::bind(s, 2, event.status);
  sqlite::bind(s, 3, event.step_name);
  sqlite::bind(s, 4, event.reason);
  sqlite::bind(s, 5, static_cast<std::int64_t>(event.version));
  sqlite::bind(s, 6, order->customer_id);
  sqlite::bind(s, 7, order->sku);
  sqlite::bind(s, 8, static_cast<std::int64_t>(order->quantity));
  sqlite::bind(s, 9, order->amount_cents);
  sqlite::bind(s, 10, order->region);
  sqlite::bind(s, 11, event.started_at);
  sqlite::bind(s, 12, occurred_at);
  if (sqlite3_step(s) != SQLITE_DONE) return fail(sqlite::error(db_->db.get(), "apply"));
  return sqlite3_changes(db_->db.get()) > 0;
}

Result<std::vector<OrderRow>> OrderSummary::query(const OrderQuery& q) const {
  std::string sql =
      "SELECT order_id, status, step, reason, version, customer_id, sku, quantity, amount_cents, "
      "region, placed_at, updated_at FROM order_summary WHERE (?1 = '' OR status = ?1) "
      "AND (?2 = '' OR order_id = ?2) ORDER BY placed_at, order_id";
  if (q.limit > 0) sql += " LIMIT " + std::to_string(q.limit);
  std::lock_guard lock(db_->mutex);
  auto stmt = sqlite::prepare(db_->db.get(), sql.c_str());
  if (!stmt) return fail(stmt.error());
  sqlite3_stmt* s = stmt->get();
  sqlite::bind(s, 1, q.status);
  sqlite::bind(s, 2, q.order_id);
  std::vector<OrderRow> rows;
  int rc = SQLITE_ROW;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    rows.push_back({.order_id = sqlite::text(s, 0),
                    .status = sqlite::text(s, 1),
                    .step = sqlite::text(s, 2),
                    .reason = sqlite::text(s, 3),
                    .version = static_cast<std::uint64_t>(sqlite3_column_int64(s, 4)),
                    .customer_id = sqlite::text(s, 5),
                    .sku = sqlite::text(s, 6),
                    .quantity = sqlite3_column_int64(s, 7),
                    .amount_cents = sqlite3_column_int64(s, 8),
                    .region = sqlite::text(s, 9),
                    .placed_at = sqlite::text(s, 10),
                    .updated_at = sqlite::text(s, 11)});
  }
  if (rc != SQLITE_DONE) return fail(sqlite::error(db_->db.get(), "query"));
  return rows;
}

Status OrderSummary::clear() {
  std::lock_guard lock(db_->mutex);
  return sqlite::exec(db_->db.get(), "DELETE FROM order_summary");
}

}  // namespace fleet::projection
