// The demo's shop: its own SQLite database with an orders table, and the transactional outbox
// beside it. An order row and its OrderPlaced event commit together or not at all; the relay
// (`fleet outbox relay --db sqlite:PATH`) publishes the events.
#pragma once

#include <span>
#include <string>

#include "fleet/outbox/sqlite.hpp"
#include "order_fulfilment/orders.hpp"

namespace fleet::demo {

class Shop {
 public:
  static Result<Shop> open(const std::string& path);

  // Inserts the orders and their OrderPlaced events (subject orders.placed) in one transaction.
  Status place(std::span<const schemas::OrderPlaced> orders);

 private:
  Shop(outbox::sqlite::Database db, outbox::sqlite::Outbox outbox, outbox::sqlite::Statement insert)
      : db_(std::move(db)), outbox_(std::move(outbox)), insert_(std::move(insert)) {}

  outbox::sqlite::Database db_;
  outbox::sqlite::Outbox outbox_;
  outbox::sqlite::Statement insert_;
};

}  // namespace fleet::demo
