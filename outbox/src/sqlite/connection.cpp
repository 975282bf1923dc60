#include "connection.hpp"

namespace fleet::outbox::sqlite {

Error error_of(sqlite3* db, int rc, std::string_view what) {
  const int primary = rc & 0xff;
  const Errc code =
      (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) ? Errc::unavailable : Errc::io;
  std::string message(what);
  message += ": ";
  message += db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  return Error{code, std::move(message)};
}

Status exec(sqlite3* db, const char* sql) {
  char* message = nullptr;
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &message);
  if (rc == SQLITE_OK) return {};
  std::string text = message ? message : sqlite3_errstr(rc);
  sqlite3_free(message);
  const int primary = rc & 0xff;
  return fail(primary == SQLITE_BUSY || primary == SQLITE_LOCKED ? Errc::unavailable : Errc::io,
              "sqlite: " + text);
}

Result<Statement> prepare(sqlite3* db, std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) return fail(error_of(db, rc, "sqlite prepare"));
  return Statement(stmt);
}

Status run(sqlite3* db, sqlite3_stmt* stmt, std::string_view what) {
  const int rc = sqlite3_step(stmt);
  sqlite3_reset(stmt);
  sqlite3_clear_bindings(stmt);
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) return fail(error_of(db, rc, what));
  return {};
}

Transaction::~Transaction() {
  if (open_) exec(db_, "ROLLBACK");
}

Status Transaction::begin() {
  if (auto ok = exec(db_, "BEGIN IMMEDIATE"); !ok) return ok;
  open_ = true;
  return {};
}

Status Transaction::commit() {
  if (auto ok = exec(db_, "COMMIT"); !ok) return ok;
  open_ = false;
  return {};
}

Result<Database> open_database(const std::string& path) {
  sqlite3* raw = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  Database db(raw);  // sqlite3_open_v2 may hand back a handle even on failure
  if (rc != SQLITE_OK) return fail(error_of(db.get(), rc, "open " + path));
  sqlite3_busy_timeout(db.get(), 5'000);
  if (auto ok = exec(db.get(), "PRAGMA journal_mode=WAL"); !ok) return fail(ok.error());
  // In WAL mode NORMAL is safe against application crashes; a power loss may lose the last
  // commits but never corrupts the file.
  if (auto ok = exec(db.get(), "PRAGMA synchronous=NORMAL"); !ok) return fail(ok.error());
  return db;
}

}  // namespace fleet::outbox::sqlite
