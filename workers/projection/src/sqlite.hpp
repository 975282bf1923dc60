// RAII for the SQLite handles the projection uses, and error conversion.
#pragma once

#include <sqlite3.h>

#include <memory>
#include <string>

#include "fleet/error.hpp"

namespace fleet::projection::sqlite {

struct CloseDb {
  void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};
struct Finalize {
  void operator()(sqlite3_stmt* stmt) const noexcept { sqlite3_finalize(stmt); }
};
using DbPtr = std::unique_ptr<sqlite3, CloseDb>;
using StmtPtr = std::unique_ptr<sqlite3_stmt, Finalize>;

inline Error error(sqlite3* db, std::string_view what) {
  return Error{Errc::unavailable, std::string(what) + ": " + sqlite3_errmsg(db)};
}

inline Status exec(sqlite3* db, const char* sql) {
  char* message = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &message) != SQLITE_OK) {
    std::string text = message ? message : "unknown error";
    sqlite3_free(message);
    return fail(Errc::unavailable, text);
  }
  return {};
}

inline Result<StmtPtr> prepare(sqlite3* db, const char* sql) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &raw, nullptr) != SQLITE_OK) {
    return fail(error(db, "prepare"));
  }
  return StmtPtr(raw);
}

inline void bind(sqlite3_stmt* stmt, int index, const std::string& text) {
  sqlite3_bind_text(stmt, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
}
inline void bind(sqlite3_stmt* stmt, int index, std::int64_t value) {
  sqlite3_bind_int64(stmt, index, value);
}
inline std::string text(sqlite3_stmt* stmt, int column) {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt, column));
  return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt, column))) : "";
}

}  // namespace fleet::projection::sqlite
