#include "fleet/sql/sqlite.hpp"

#include <thread>

#include "fleet/backoff.hpp"

namespace fleet::sql::sqlite {

Errc code_of(int rc) {
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Errc::unavailable;
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_TOOBIG:
    case SQLITE_RANGE:
      return Errc::invalid_argument;
    case SQLITE_NOMEM:
    case SQLITE_MISUSE:
    case SQLITE_INTERNAL:
      return Errc::internal;
    default:
      return Errc::io;
  }
}

Error error_of(sqlite3* db, int rc, std::string_view what) {
  std::string message(what);
  message += ": ";
  message += db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  return Error{code_of(rc), std::move(message)};
}

Result<Database> open_database(const std::string& path) {
  sqlite3* raw = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  Database db(raw);  // sqlite3_open_v2 may hand back a handle even on failure
  if (rc != SQLITE_OK) return fail(error_of(db.get(), rc, "open " + path));
  sqlite3_busy_timeout(db.get(), static_cast<int>(busy_timeout.count()));
  // A new file starts in rollback-journal mode, where two connections switching it to WAL at
  // once can deadlock; SQLite then fails one at once, without the busy handler.
  if (auto ok = retry_while_busy([&] { return exec(db.get(), "PRAGMA journal_mode=WAL"); }); !ok) {
    return fail(ok.error().code, path + ": " + ok.error().message);
  }
  if (auto ok = exec(db.get(), "PRAGMA synchronous=NORMAL"); !ok) {
    return fail(ok.error().code, path + ": " + ok.error().message);
  }
  return db;
}

Status retry_while_busy(const std::function<Status()>& attempt) {
  // Every 20 ms: the other connection holds the lock for a statement or two.
  const Backoff busy{.initial = std::chrono::milliseconds(20),
                     .multiplier = 1.0,
                     .max = std::chrono::milliseconds(20),
                     .jitter = Backoff::Jitter::none};
  const auto deadline = std::chrono::steady_clock::now() + busy_timeout;
  for (std::uint64_t failures = 1;; ++failures) {
    Status result = attempt();
    if (result || result.error().code != Errc::unavailable ||
        std::chrono::steady_clock::now() >= deadline) {
      return result;
    }
    std::this_thread::sleep_for(busy.delay(failures));
  }
}

Status exec(sqlite3* db, const char* sql) {
  char* message = nullptr;
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &message);
  if (rc == SQLITE_OK) return {};
  std::string text = message != nullptr ? message : sqlite3_errstr(rc);
  sqlite3_free(message);
  return fail(code_of(rc), "sqlite: " + text);
}

Result<Statement> prepare(sqlite3* db, std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  Statement owned(stmt);
  if (rc != SQLITE_OK) return fail(error_of(db, rc, "sqlite prepare"));
  return owned;
}

Result<bool> Query::step(std::string_view what) {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return fail(error_of(sqlite3_db_handle(stmt_), rc, what));
}

Status Query::run(std::string_view what) {
  for (;;) {
    auto row = step(what);
    if (!row) return fail(row.error());
    if (!*row) return {};
  }
}

std::string Query::bytes(int column) const {
  const auto* data = static_cast<const char*>(sqlite3_column_blob(stmt_, column));
  const int size = sqlite3_column_bytes(stmt_, column);
  return data != nullptr ? std::string(data, static_cast<std::size_t>(size)) : std::string();
}

Transaction::~Transaction() {
  if (open_) (void)exec(db_, "ROLLBACK");
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

}  // namespace fleet::sql::sqlite
