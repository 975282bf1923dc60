// The order_summary read model: one row per order with its saga's latest status, in SQLite.
// Fed by saga.orders.lifecycle.> events. Each event carries the saga's whole status and a
// version that grows by one per lifecycle event, so apply() keeps a row only if the event is
// newer: redeliveries, duplicates and out-of-order arrivals leave the same table. Rebuilt by
// replaying the lifecycle stream from its start (rebuild()).
//
// One OrderSummary may be used from several threads: apply() calls that arrive together are
// committed in one transaction (each returns once its own row is stored). Several processes
// may open one file (WAL, busy timeout), though one projection process is the intended setup.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fleet/broker/transport.hpp"
#include "fleet/error.hpp"
#include "fleet/schemas/events/saga.hpp"

namespace fleet::projection {

struct OrderRow {
  std::string order_id;
  std::string status;  // running, compensating, completed, failed
  std::string step;    // the step the saga was at
  std::string reason;  // why it failed
  std::uint64_t version = 0;
  std::string customer_id;
  std::string sku;
  std::int64_t quantity = 0;
  std::int64_t amount_cents = 0;
  std::string region;
  std::string placed_at;   // RFC 3339
  std::string updated_at;  // occurred-at of the latest lifecycle event applied

  bool operator==(const OrderRow&) const = default;
};

struct OrderQuery {
  std::string status;     // "" = any
  std::string order_id;   // "" = any
  std::size_t limit = 0;  // 0 = no limit
};

// Where the read model lives unless told otherwise: FLEET_ORDER_SUMMARY_DB, else
// order_summary.db in the working directory. The worker role and `fleet-demo orders` agree on it.
std::string default_path();

class OrderSummary {
 public:
  // Opens (creating the file and schema if needed) the read model at `path`.
  static Result<OrderSummary> open(const std::string& path);
  ~OrderSummary();
  OrderSummary(OrderSummary&&) noexcept;
  OrderSummary& operator=(OrderSummary&&) noexcept;

  // Applies one lifecycle event; true if it changed the row (false: older or same version).
  Result<bool> apply(const schemas::SagaLifecycle& event, const std::string& occurred_at);
  Result<std::vector<OrderRow>> query(const OrderQuery& query) const;
  Status clear();

 private:
  struct Db;
  explicit OrderSummary(std::unique_ptr<Db> db);
  std::unique_ptr<Db> db_;
};

struct RebuildReport {
  std::uint64_t events = 0;   // lifecycle events read
  std::uint64_t applied = 0;  // that changed a row
  std::uint64_t skipped = 0;  // undecodable (logged) or older than the row
};

// Clears the read model and replays every event of `subject` in `stream` from the start, through
// a temporary durable consumer, until the stream has nothing more.
Result<RebuildReport> rebuild(broker::Transport& transport, OrderSummary& summary,
                              const std::string& stream, const std::string& subject);

}  // namespace fleet::projection
