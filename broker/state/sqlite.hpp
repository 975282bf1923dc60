// The SQLite C API for the state store: every handle owned by a unique_ptr alias, statements
// that reset themselves, and a BEGIN IMMEDIATE transaction rolled back unless committed.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "fleet/error.hpp"

namespace fleet::broker::state::sqlite {

struct CloseDatabase {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct FinalizeStatement {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};
using Database = std::unique_ptr<sqlite3, CloseDatabase>;
using Statement = std::unique_ptr<sqlite3_stmt, FinalizeStatement>;

// Errc::unavailable for a busy or locked database (another process held the write lock longer
// than the busy timeout; retrying later helps), Errc::io otherwise.
Error error_of(sqlite3* db, int rc, std::string_view what);

// Opens (creating if missing) `path` in WAL mode with a busy timeout, so readers never wait and
// writers of several processes queue for the file lock instead of failing at once.
Result<Database> open_database(const std::string& path);

// Runs `attempt` again while it fails with Errc::unavailable, for up to the busy timeout: for
// the lock conflicts SQLite reports at once instead of waiting (deadlocks between connections
// that both want to upgrade a lock, e.g. while a new file is switched to WAL).
Status retry_while_busy(const std::function<Status()>& attempt);

Status exec(sqlite3* db, const char* sql);
Result<Statement> prepare(sqlite3* db, std::string_view sql);

// One use of a prepared statement: binds, steps, and resets it (and its bindings) when done.
class Query {
 public:
  Query(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
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
  Query& bind(int index, std::string_view text) {
    sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
    return *this;
  }
  // Values are bytes: a blob keeps NULs and invalid UTF-8 as they are.
  Query& bind_blob(int index, std::string_view bytes) {
    // A NULL pointer would bind SQL NULL; an empty value is an empty blob.
    sqlite3_bind_blob(stmt_, index, bytes.empty() ? "" : bytes.data(),
                      static_cast<int>(bytes.size()), SQLITE_TRANSIENT);
    return *this;
  }
  // True with a row to read, false when done.
  Result<bool> step(std::string_view what);
  std::int64_t int64(int column) const { return sqlite3_column_int64(stmt_, column); }
  std::string bytes(int column) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
};

// A write transaction. BEGIN IMMEDIATE takes the file's write lock up front, so a
// read-modify-write never fails half-way with SQLITE_BUSY when another process wrote first.
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

}  // namespace fleet::broker::state::sqlite
