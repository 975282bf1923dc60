#include "shop.hpp"

#include "fleet/schemas/codec.hpp"
#include "fleet/schemas/envelope.hpp"
#include "roles.hpp"

namespace fleet::demo {
namespace {

namespace sqlite = sql::sqlite;

Status in_shop(Status status) {
  if (status) return status;
  return fail(status.error().code, "shop database: " + status.error().message);
}

}  // namespace

Result<Shop> Shop::open(const std::string& path) {
  auto db = outbox::sqlite::open_database(path);
  if (!db) return fail(db.error());
  if (auto ok = in_shop(sqlite::exec(
          db->get(),
          "CREATE TABLE IF NOT EXISTS orders (order_id TEXT PRIMARY KEY, customer_id TEXT NOT "
          "NULL, "
          "sku TEXT NOT NULL, quantity INTEGER NOT NULL, amount_cents INTEGER NOT NULL, "
          "region TEXT NOT NULL)"));
      !ok) {
    return fail(ok.error());
  }
  auto box = outbox::sqlite::Outbox::open(db->get());
  if (!box) return fail(box.error());
  auto insert = sqlite::prepare(db->get(), "INSERT INTO orders VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  if (!insert) return fail(in_shop(fail(insert.error())).error());
  return Shop(std::move(*db), std::move(*box), std::move(*insert));
}

Status Shop::place(std::span<const schemas::OrderPlaced> orders) {
  sqlite::Transaction transaction(db_.get());
  if (auto ok = in_shop(transaction.begin()); !ok) return ok;
  for (const auto& order : orders) {
    sqlite::Query insert(insert_.get());
    insert.bind(1, order.order_id).bind(2, order.customer_id).bind(3, order.sku);
    insert.bind(4, static_cast<std::int64_t>(order.quantity)).bind(5, order.amount_cents);
    insert.bind(6, order.region);
    if (auto ok = in_shop(insert.run("insert order")); !ok) return ok;
    auto meta = schemas::new_metadata(std::string(schemas::OrderPlaced::type_name));
    meta.ordering_key = order.order_id;
    if (auto ok = outbox_.append(
            {.subject = placed_subject, .meta = std::move(meta), .body = schemas::encode(order)});
        !ok) {
      return ok;
    }
  }
  return in_shop(transaction.commit());
}

}  // namespace fleet::demo
