#include "state/postgres.hpp"

namespace fleet::broker::state::postgres {

Error error_of(PGconn* conn, const PGresult* result, std::string_view what) {
  std::string message(what);
  message += ": ";
  // libpq's messages span lines ("...refused\n\tIs the server running..."); errors are one line.
  const std::string detail =
      result != nullptr ? PQresultErrorMessage(result) : PQerrorMessage(conn);
  bool in_break = false;
  for (char c : detail) {
    if (c == '\n' || c == '\t' || c == '\r') {
      in_break = true;
    } else if (!(in_break && c == ' ')) {
      if (in_break) message += "; ";
      in_break = false;
      message += c;
    }
  }
  if (message.ends_with("; ")) message.resize(message.size() - 2);
  Errc code = Errc::io;
  if (PQstatus(conn) != CONNECTION_OK) code = Errc::unavailable;
  if (result != nullptr) {
    const char* state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
    const std::string_view sqlstate = state != nullptr ? state : "";
    if (sqlstate == "40001" || sqlstate == "40P01") code = Errc::conflict;
    if (sqlstate.starts_with("08") || sqlstate.starts_with("57P")) code = Errc::unavailable;
  }
  return Error{code, std::move(message)};
}

Result<Connection> connect(const std::string& url) {
  Connection conn(PQconnectdb(url.c_str()));
  if (!conn) return fail(Errc::internal, "libpq could not allocate a connection");
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    return fail(error_of(conn.get(), nullptr, "connect to PostgreSQL"));
  }
  // Only notices about our own idempotent DDL would come through; stderr is for real errors.
  PQsetNoticeProcessor(
      conn.get(), [](void*, const char*) {}, nullptr);
  return conn;
}

Status reconnect(PGconn* conn) {
  if (PQstatus(conn) == CONNECTION_OK) return {};
  PQreset(conn);
  if (PQstatus(conn) != CONNECTION_OK) {
    return fail(error_of(conn, nullptr, "reconnect to PostgreSQL"));
  }
  return {};
}

Result<ResultSet> query(PGconn* conn, std::string_view what, const char* sql,
                        const std::vector<Param>& params) {
  std::vector<const char*> values;
  std::vector<int> lengths;
  std::vector<int> formats;
  for (const Param& p : params) {
    values.push_back(p.data.c_str());
    lengths.push_back(static_cast<int>(p.data.size()));
    formats.push_back(p.binary ? 1 : 0);
  }
  ResultSet result(PQexecParams(conn, sql, static_cast<int>(params.size()), nullptr, values.data(),
                                lengths.data(), formats.data(), 1));
  const auto status = result ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    return fail(error_of(conn, result.get(), what));
  }
  return result;
}

std::int64_t int8(const PGresult* result, int row, int column) {
  // Binary int8: eight bytes, most significant first.
  const auto* data = reinterpret_cast<const unsigned char*>(PQgetvalue(result, row, column));
  std::uint64_t value = 0;
  for (int i = 0; i < 8; ++i) value = (value << 8) | data[i];
  return static_cast<std::int64_t>(value);
}

std::string bytes(const PGresult* result, int row, int column) {
  return std::string(PQgetvalue(result, row, column),
                     static_cast<std::size_t>(PQgetlength(result, row, column)));
}

Transaction::~Transaction() {
  if (open_) ResultSet(PQexec(conn_, "ROLLBACK"));
}

Status Transaction::begin() {
  if (auto ok = query(conn_, "begin", "BEGIN"); !ok) return fail(ok.error());
  open_ = true;
  return {};
}

Status Transaction::commit() {
  open_ = false;  // after a failed COMMIT the transaction is over too
  if (auto ok = query(conn_, "commit", "COMMIT"); !ok) return fail(ok.error());
  return {};
}

}  // namespace fleet::broker::state::postgres
