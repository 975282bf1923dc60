// libpq for the state store: every handle owned by a unique_ptr alias, statements with text or
// binary parameters and binary results, and a transaction rolled back unless committed.
#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fleet/error.hpp"

namespace fleet::broker::state::postgres {

struct FinishConnection {
  void operator()(PGconn* conn) const { PQfinish(conn); }
};
struct ClearResult {
  void operator()(PGresult* result) const { PQclear(result); }
};
using Connection = std::unique_ptr<PGconn, FinishConnection>;
using ResultSet = std::unique_ptr<PGresult, ClearResult>;

// Errc::unavailable when the connection is gone, Errc::conflict for serialization failures and
// deadlocks (retrying helps), Errc::io otherwise.
Error error_of(PGconn* conn, const PGresult* result, std::string_view what);

// Connects with a libpq URI or key=value string. Errc::unavailable with the server's message.
Result<Connection> connect(const std::string& url);

// After a lost connection (a server restart), connects again; a no-op while connected.
Status reconnect(PGconn* conn);

// A parameter: text (cast in SQL where needed), or bytes sent as they are (for bytea).
struct Param {
  std::string data;
  bool binary = false;
};
inline Param bytes(std::string_view data) {
  return Param{std::string(data), true};
}

// Runs one statement. Rows come back in binary format: read them with int8 / bytes.
Result<ResultSet> query(PGconn* conn, std::string_view what, const char* sql,
                        const std::vector<Param>& params = {});
std::int64_t int8(const PGresult* result, int row, int column);  // a bigint column
std::string bytes(const PGresult* result, int row, int column);  // a bytea (or text) column

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

}  // namespace fleet::broker::state::postgres
