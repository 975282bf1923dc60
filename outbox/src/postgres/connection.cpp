#include "connection.hpp"

namespace fleet::outbox::postgres {

Error error_of(PGconn* conn, const PGresult* result, std::string_view what) {
  std::string message(what);
  message += ": ";
  std::string detail = result ? PQresultErrorMessage(result) : PQerrorMessage(conn);
  // libpq's messages span lines ("...refused\n\tIs the server running..."); errors are one line.
  bool in_break = false;
  for (char c : detail) {
    if (c == '\n' || c == '\t' || c == '\r') {
      in_break = true;
      continue;
    }
    if (in_break && c != ' ') message += "; ";
    if (!(in_break && c == ' ')) in_break = false;
    if (!in_break) message += c;
  }
  Errc code = Errc::io;
  if (PQstatus(conn) != CONNECTION_OK) code = Errc::unavailable;
  if (result) {
    const char* state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
    const std::string_view sqlstate = state ? state : "";
    if (sqlstate == "40001" || sqlstate == "40P01") code = Errc::conflict;
    if (sqlstate.starts_with("08") || sqlstate.starts_with("57P")) code = Errc::unavailable;
  }
  return Error{code, std::move(message)};
}

Result<ResultSet> query(PGconn* conn, std::string_view what, const char* sql,
                        const std::vector<Param>& params, bool binary) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  // PQexec runs several ;-separated statements (migrations); PQexecParams only one.
  ResultSet result(params.empty() && !binary
                       ? PQexec(conn, sql)
                       : PQexecParams(conn, sql, static_cast<int>(values.size()), nullptr,
                                      values.data(), nullptr, nullptr, binary ? 1 : 0));
  const auto status = result ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    return fail(error_of(conn, result.get(), what));
  }
  return result;
}

Result<Connection> connect(const std::string& url) {
  Connection conn(PQconnectdb(url.c_str()));
  if (!conn) return fail(Errc::internal, "libpq could not allocate a connection");
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    return fail(error_of(conn.get(), nullptr, "connect to PostgreSQL"));
  }
  // Only warnings about our own idempotent DDL would come through; keep stderr for real errors.
  PQsetNoticeProcessor(
      conn.get(), [](void*, const char*) {}, nullptr);
  return conn;
}

}  // namespace fleet::outbox::postgres
