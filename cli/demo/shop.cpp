#include "shop.hpp"

#include "fleet/schemas/codec.hpp"
#include "fleet/schemas/envelope.hpp"
#include "roles.hpp"

namespace fleet::demo {
namespace {

Status exec(sqlite3* db, const char* sql) {
  char* message = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &message) == SQLITE_OK) return {};
  std::string text = message ? message : sqlite3_errmsg(db);
  sqlite3_free(message);
  return fail(Errc::unavailable, std::string("shop database: ") + text);
}

}  // namespace

Result<Shop> Shop::open(const std::string& path) {
  auto db = outbox::sqlite::open_database(path);
  if (!db) return fail(db.error());
  if (auto ok = exec(db->get(),
                     "CREATE TABLE IF NOT EXISTS orders (order_id TEXT PRIMARY KEY, customer_id "
                     "TEXT NOT NULL, sku TEXT NOT NULL, quantity INTEGER NOT NULL, amount_cents "
                     "INTEGER NOT NULL, region TEXT NOT NULL)");
      !ok) {
    return fail(ok.error());
  }
  auto box = outbox::sqlite::Outbox::open(db->get());
  if (!box) return fail(box.error());
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db->get(), "INSERT INTO orders VALUES (?1, ?2, ?3, ?4, ?5, ?6)", -1, &raw,
                         nullptr) != SQLITE_OK) {
    return fail(Errc::unavailable, std::string("shop database: ") + sqlite3_errmsg(db->get()));
  }
  return Shop(std::move(*db), std::move(*box), outbox::sqlite::Statement(raw));
}

Status Shop::place(std::span<const schemas::OrderPlaced> orders) {
  if (auto ok = exec(db_.get(), "BEGIN IMMEDIATE"); !ok) return ok;
  auto rollback = [&](Status failed) {
    (void)exec(db_.get(), "ROLLBACK");
    return failed;
  };
  for (const auto& order : orders) {
    sqlite3_stmt* s = insert_.get();
    sqlite3_reset(s);
    sqlite3_bind_text(s, 1, order.order_id.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, order.customer_id.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 3, order.sku.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 4, order.quantity);
    sqlite3_bind_int64(s, 5, order.amount_cents);
    sqlite3_bind_text(s, 6, order.region.c_str(), -1, SQLITE_TRANSIENT);
    if (sqlite3_step(s) != SQLITE_DONE) {
      return rollback(
          fail(Errc::unavailable, std::string("shop database: ") + sqlite3_errmsg(db_.get())));
    }
    auto meta = schemas::new_metadata(std::string(schemas::OrderPlaced::type_name));
    meta.ordering_key = order.order_id;
    if (auto ok = outbox_.append(
            {.subject = placed_subject, .meta = std::move(meta), .body = schemas::encode(order)});
        !ok) {
      return rollback(ok);
    }
  }
  return exec(db_.get(), "COMMIT");
}

}  // namespace fleet::demo
