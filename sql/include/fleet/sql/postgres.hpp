// libpq as fleet uses it, for every store on PostgreSQL (state store, outbox): handles owned by
// unique_ptr aliases, statements with text, binary or NULL parameters and text or binary rows,
// scripts of several statements, and a transaction rolled back unless committed.
//
// Threads: a Connection is used by one thread at a time. Errors are fleet Errors: see error_of.
#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fleet/error.hpp"

namespace fleet::sql::postgres {

struct FinishConnection {
  void operator()(PGconn* conn) const { PQfinish(conn); }
};
struct ClearResult {
  void operator()(PGresult* result) const { PQclear(result); }
};
using Connection = std::unique_ptr<PGconn, FinishConnection>;
using ResultSet = std::unique_ptr<PGresult, ClearResult>;

// The fleet error for a failed call ("what: <libpq's message on one line>"):
//   Errc::unavailable  the connection is gone, or the server is shutting down (SQLSTATE 08*,
//                      57P*): retrying after a reconnect helps
//   Errc::conflict     serialization failure or deadlock (40001, 40P01): retrying helps
//   Errc::invalid_argument  the data breaks a rule of the schema (integrity, 23*) or is
//                      malformed for its type (data exception, 22*)
//   Errc::io           everything else
// `result` may be null (connection-level failures).
Error error_of(PGconn* conn, const PGresult* result, std::string_view what);

// Connects with a libpq URI or key=value string. Errc::unavailable with the server's message.
// Notices (about idempotent DDL) are dropped; stderr is for real errors.
Result<Connection> connect(const std::string& url);

// After a lost connection (a server restart), connects again; a no-op while connected.
Status reconnect(PGconn* conn);

// A statement parameter: text (cast in SQL where needed), bytes sent as they are (for bytea;
// an empty value is an empty bytea, never NULL), or SQL NULL.
struct Param {
  Param(std::string text) : data(std::move(text)) {}  // NOLINT: implicit, for {"a", b} lists
  Param(const char* text) : data(std::string(text)) {}
  Param(std::nullopt_t) {}
  static Param bytes(std::string_view data) {
    Param p{std::string(data)};
    p.binary = true;
    return p;
  }

  std::optional<std::string> data;  // nullopt: SQL NULL
  bool binary = false;
};

// The format rows come back in: text (what psql prints) or binary (read with int8 / int4).
enum class Rows { text, binary };

// Runs one statement with parameters $1, $2, ...
Result<ResultSet> query(PGconn* conn, std::string_view what, const char* sql,
                        const std::vector<Param>& params = {}, Rows rows = Rows::text);
// Runs SQL text of one or more ;-separated statements without parameters (schema scripts).
Status script(PGconn* conn, std::string_view what, const char* sql);

// Prepares a named statement on the connection; a statement of that name already prepared there
// (a second user of the same connection) is fine.
Status prepare(PGconn* conn, const char* name, const char* sql, int parameters);
// Runs the statement prepared as `name`.
Result<ResultSet> run_prepared(PGconn* conn, std::string_view what, const char* name,
                               const std::vector<Param>& params, Rows rows = Rows::text);

// Reading rows. `row` and `column` must exist.
std::int64_t int8(const PGresult* result, int row, int column);  // a bigint column, binary rows
std::int32_t int4(const PGresult* result, int row, int column);  // an integer column, binary rows
std::string bytes(const PGresult* result, int row, int column);  // any column's bytes as sent
// Rows an INSERT, UPDATE or DELETE changed.
std::uint64_t affected(const PGresult* result);

// BEGIN on begin(), ROLLBACK on destruction unless committed.
class Transaction {
 public:
  explicit Transaction(PGconn* conn) : conn_(conn) {}
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  Status begin();
  Status commit();

 private:
  PGconn* conn_;
  bool open_ = false;
};

}  // namespace fleet::sql::postgres
