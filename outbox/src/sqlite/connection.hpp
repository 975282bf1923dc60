// Small helpers over the SQLite C API shared by the outbox and the store.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "fleet/outbox/sqlite.hpp"

namespace fleet::outbox::sqlite {

// Errc::unavailable for a busy/locked database (retrying later helps), Errc::io otherwise.
Error error_of(sqlite3* db, int rc, std::string_view what);
Status exec(sqlite3* db, const char* sql);
Result<Statement> prepare(sqlite3* db, std::string_view sql);

// Call these qualified (sqlite::bind): unqualified, a std::string argument lets argument-dependent
// lookup pick std::bind wherever <functional> is visible, and nothing would be bound.
inline void bind(sqlite3_stmt* stmt, int index, std::int64_t value) {
  sqlite3_bind_int64(stmt, index, value);
}
inline void bind(sqlite3_stmt* stmt, int index, std::string_view text) {
  sqlite3_bind_text(stmt, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
}
inline void bind_blob(sqlite3_stmt* stmt, int index, std::string_view bytes) {
  sqlite3_bind_blob(stmt, index, bytes.data(), static_cast<int>(bytes.size()), SQLITE_TRANSIENT);
}
inline std::string column_text(sqlite3_stmt* stmt, int column) {
  const auto* data = static_cast<const char*>(sqlite3_column_blob(stmt, column));
  return data ? std::string(data, sqlite3_column_bytes(stmt, column)) : std::string();
}

// Runs a statement without result rows to completion and resets it for the next use.
Status run(sqlite3* db, sqlite3_stmt* stmt, std::string_view what);

// A write transaction (BEGIN IMMEDIATE) rolled back unless committed.
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

}  // namespace fleet::outbox::sqlite
