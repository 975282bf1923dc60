// The outbox on SQLite: append events inside the caller's own transaction.
//
//   auto db = fleet::outbox::sqlite::open_database("app.db");
//   auto outbox = fleet::outbox::sqlite::Outbox::open(db->get());   // creates the schema
//   exec "BEGIN"; ...business writes...; outbox->append(event); exec "COMMIT";
//
// The relay reads the same file through open_store("sqlite:app.db").
#pragma once

#include <memory>
#include <string>

#include "fleet/error.hpp"
#include "fleet/outbox/event.hpp"
#include "fleet/sql/sqlite.hpp"

namespace fleet::outbox::sqlite {

// RAII handles and open_database (WAL, fleet's busy timeout) come from fleet::sql.
using sql::sqlite::Database;
using sql::sqlite::open_database;
using sql::sqlite::Statement;

// Creates or migrates the outbox tables on `db` (schema_version table; idempotent). Runs in the
// caller's transaction if one is open, otherwise in its own.
Status ensure_schema(sqlite3* db);

// Appends events on one connection. Not thread-safe (neither is the connection it borrows);
// `db` must outlive the Outbox.
class Outbox {
 public:
  // Ensures the schema and prepares the insert.
  static Result<Outbox> open(sqlite3* db);

  // Inserts `event` in whatever transaction is open on the connection: it is published only if
  // that transaction commits. Errc::invalid_argument for an empty subject or event id.
  Status append(const OutboxEvent& event);

 private:
  explicit Outbox(Statement insert) : insert_(std::move(insert)) {}
  Statement insert_;
};

}  // namespace fleet::outbox::sqlite
