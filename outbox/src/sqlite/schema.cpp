// Versioned migrations of the SQLite outbox. Append new migrations; never edit an applied one.
#include <array>

#include "fleet/outbox/sqlite.hpp"

namespace fleet::outbox::sqlite {
namespace {

using sql::sqlite::exec;
using sql::sqlite::prepare;
using sql::sqlite::Query;
using sql::sqlite::Transaction;

// Times are milliseconds since the Unix epoch. available_at doubles as the lease of a claimed
// row and the retry time of a failed one.
constexpr std::array migrations = {
    R"sql(
CREATE TABLE fleet_outbox (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  event_id     TEXT    NOT NULL,
  subject      TEXT    NOT NULL,
  headers      TEXT    NOT NULL,
  body         BLOB    NOT NULL,
  created_at   INTEGER NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)),
  available_at INTEGER NOT NULL DEFAULT 0,
  attempts     INTEGER NOT NULL DEFAULT 0,
  last_error   TEXT,
  flagged_at   INTEGER,
  sent_at      INTEGER
);
CREATE INDEX fleet_outbox_unsent ON fleet_outbox (id) WHERE sent_at IS NULL AND flagged_at IS NULL;
CREATE INDEX fleet_outbox_sent ON fleet_outbox (sent_at) WHERE sent_at IS NOT NULL;
)sql",
    // 2: one active relay per database file instead of a lease per row (a claim is a read).
    R"sql(
CREATE TABLE fleet_outbox_relay_lease (
  id     INTEGER PRIMARY KEY CHECK (id = 1),
  holder TEXT    NOT NULL,
  until  INTEGER NOT NULL
);
)sql",
};

Result<int> current_version(sqlite3* db) {
  if (auto ok = exec(db,
                     "CREATE TABLE IF NOT EXISTS fleet_outbox_schema_version "
                     "(version INTEGER NOT NULL)");
      !ok) {
    return fail(ok.error());
  }
  auto stmt = prepare(db, "SELECT coalesce(max(version), 0) FROM fleet_outbox_schema_version");
  if (!stmt) return fail(stmt.error());
  Query query(stmt->get());
  auto row = query.step("read outbox schema version");
  if (!row) return fail(row.error());
  return static_cast<int>(query.int64(0));
}

Status migrate(sqlite3* db) {
  auto version = current_version(db);
  if (!version) return fail(version.error());
  if (*version > static_cast<int>(migrations.size())) {
    return fail(Errc::invalid_argument, "outbox schema version " + std::to_string(*version) +
                                            " is newer than this fleet knows");
  }
  for (int next = *version + 1; next <= static_cast<int>(migrations.size()); ++next) {
    if (auto ok = exec(db, migrations[next - 1]); !ok) return ok;
    const std::string record =
        "INSERT INTO fleet_outbox_schema_version (version) VALUES (" + std::to_string(next) + ")";
    if (auto ok = exec(db, record.c_str()); !ok) return ok;
  }
  return {};
}

}  // namespace

Status ensure_schema(sqlite3* db) {
  if (!sqlite3_get_autocommit(db)) {
    // Inside the caller's transaction: a savepoint keeps a failed migration from leaving half a
    // schema while leaving the caller's transaction open.
    if (auto ok = exec(db, "SAVEPOINT fleet_outbox_migrate"); !ok) return ok;
    auto ok = migrate(db);
    if (!ok) {
      (void)exec(db, "ROLLBACK TO fleet_outbox_migrate");
      (void)exec(db, "RELEASE fleet_outbox_migrate");
      return ok;
    }
    return exec(db, "RELEASE fleet_outbox_migrate");
  }
  // IMMEDIATE takes the write lock first, so two processes cannot both see an old version.
  Transaction transaction(db);
  if (auto ok = transaction.begin(); !ok) return ok;
  if (auto ok = migrate(db); !ok) return ok;
  return transaction.commit();
}

}  // namespace fleet::outbox::sqlite
