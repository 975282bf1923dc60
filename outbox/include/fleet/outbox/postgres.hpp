// The outbox on PostgreSQL (libpq): append events inside the caller's own transaction.
//
//   auto conn = fleet::outbox::postgres::connect("postgres://app@db/app");
//   auto outbox = fleet::outbox::postgres::Outbox::open(conn->get());  // creates the schema
//   BEGIN; ...business writes...; outbox->append(event); COMMIT;
//
// Every insert fires a NOTIFY on channel `fleet_outbox` when the transaction commits, so relays
// wake at once; see open_store("postgres://...").
#pragma once

#include <memory>
#include <string>

#include "fleet/error.hpp"
#include "fleet/outbox/event.hpp"
#include "fleet/sql/postgres.hpp"

namespace fleet::outbox::postgres {

// RAII handles and connect (a libpq URI or key=value string; Errc::unavailable with the
// server's message) come from fleet::sql.
using sql::postgres::connect;
using sql::postgres::Connection;
using sql::postgres::ResultSet;

// Creates or migrates the outbox tables (schema_version table; serialised across processes by
// an advisory lock). Runs in the caller's transaction if one is open, otherwise in its own.
Status ensure_schema(PGconn* conn);

// Appends events on one connection. Not thread-safe; `conn` must outlive the Outbox.
class Outbox {
 public:
  // Ensures the schema and prepares the insert statement on the connection.
  static Result<Outbox> open(PGconn* conn);

  // Inserts `event` in the transaction open on the connection (or on its own when none is
  // open): it is published only if that transaction commits.
  Status append(const OutboxEvent& event);

 private:
  explicit Outbox(PGconn* conn) : conn_(conn) {}
  PGconn* conn_;
};

}  // namespace fleet::outbox::postgres
