// The SQLite C API as fleet uses it, for every store on SQLite (state store, outbox, projection):
// handles owned by unique_ptr aliases, one open policy (WAL, one busy timeout), statements used
// through a Query that resets itself, and a write transaction rolled back unless committed.
//
// Threads: a Database is used by one thread at a time (opened SQLITE_OPEN_NOMUTEX); callers that
// share one serialise their calls. Errors are fleet Errors: see error_of.
#pragma once

#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "fleet/error.hpp"

namespace fleet::sql::sqlite {

struct CloseDatabase {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct FinalizeStatement {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};
using Database = std::unique_ptr<sqlite3, CloseDatabase>;
using Statement = std::unique_ptr<sqlite3_stmt, FinalizeStatement>;

// How long a connection waits for another connection's write lock before a call fails with
// Errc::unavailable: long enough for a burst of writers from many processes on one host, short
// enough that a process stuck in a transaction shows up as an error rather than a hang.
inline constexpr std::chrono::milliseconds busy_timeout{10'000};

// The fleet error for SQLite result code `rc` ("what: <SQLite's message>"):
//   Errc::unavailable       busy or locked (another connection held the lock; retry later)
//   Errc::invalid_argument  the data breaks a rule of the schema (constraint, type, size)
//   Errc::internal          out of memory, or the API misused (a bug)
//   Errc::io                everything else: cannot open, not a database, disk full, read-only
Errc code_of(int rc);
Error error_of(sqlite3* db, int rc, std::string_view what);

// Opens (creating if missing) `path` in WAL mode with the busy timeout and synchronous=NORMAL,
// so readers never wait for writers and the writers of several processes queue for the file
// lock instead of failing at once. The switch to WAL is retried while busy (see
// retry_while_busy). In WAL mode NORMAL is safe against process crashes; a power loss may lose
// the last commits but never corrupts the file.
Result<Database> open_database(const std::string& path);

// Runs `attempt` again while it fails with Errc::unavailable, for up to the busy timeout: for
// the lock conflicts SQLite reports at once instead of waiting (two connections that both want
// to upgrade a lock, e.g. while a new file is switched to WAL).
Status retry_while_busy(const std::function<Status()>& attempt);

// Runs SQL text (one or more statements, no parameters, rows ignored).
Status exec(sqlite3* db, const char* sql);
// Prepares one statement, kept for many uses (SQLITE_PREPARE_PERSISTENT).
Result<Statement> prepare(sqlite3* db, std::string_view sql);

// One use of a prepared statement: binds, steps, reads columns, and resets the statement (and
// its bindings) when it goes out of scope, so the next use starts clean. Not copyable.
class Query {
 public:
  explicit Query(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~Query() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;

  Query& bind(int index, std::int64_t value) {
    sqlite3_bind_int64(stmt_, index, value);
    return *this;
  }
  // Text, bound as TEXT (compared and sorted as text).
  Query& bind(int index, std::string_view text) {
    // A NULL pointer would bind SQL NULL; an empty string is an empty text.
    sqlite3_bind_text(stmt_, index, text.data() != nullptr ? text.data() : "",
                      static_cast<int>(text.size()), SQLITE_TRANSIENT);
    return *this;
  }
  // Bytes, bound as a BLOB: NULs and invalid UTF-8 stay as they are. An empty value is an empty
  // blob, never SQL NULL (which a NOT NULL column would refuse).
  Query& bind_blob(int index, std::string_view bytes) {
    sqlite3_bind_blob(stmt_, index, bytes.empty() ? "" : bytes.data(),
                      static_cast<int>(bytes.size()), SQLITE_TRANSIENT);
    return *this;
  }
  int parameter_count() const { return sqlite3_bind_parameter_count(stmt_); }

  // True with a row to read, false when done; `what` names the step in the error.
  Result<bool> step(std::string_view what);
  // Steps to the end, ignoring rows (for statements run for their effect).
  Status run(std::string_view what);

  std::int64_t int64(int column) const { return sqlite3_column_int64(stmt_, column); }
  // The column's bytes, text or blob alike; "" for NULL.
  std::string bytes(int column) const;
  bool is_null(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }
  // Rows the last INSERT, UPDATE or DELETE on this connection changed.
  std::int64_t changes() const { return sqlite3_changes64(sqlite3_db_handle(stmt_)); }

 private:
  sqlite3_stmt* stmt_;
};

// A write transaction. BEGIN IMMEDIATE takes the file's write lock up front, so a
// read-modify-write never fails half-way with SQLITE_BUSY when another process wrote first.
// Rolled back on destruction unless committed.
class Transaction {
 public:
  explicit Transaction(sqlite3* db) : db_(db) {}
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  Status begin();
  Status commit();

 private:
  sqlite3* db_;
  bool open_ = false;
};

}  // namespace fleet::sql::sqlite
