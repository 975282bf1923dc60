#include "fleet/sql/postgres.hpp"

#include <endian.h>

#include <cstring>

namespace fleet::sql::postgres {
namespace {

// libpq's messages span lines ("...refused\n\tIs the server running..."); fleet errors are one
// line, so line breaks (and the indentation after them) become "; ".
void append_one_line(std::string& out, std::string_view detail) {
  bool in_break = false;
  for (char c : detail) {
    if (c == '\n' || c == '\t' || c == '\r') {
      in_break = true;
    } else if (!(in_break && c == ' ')) {
      if (in_break) out += "; ";
      in_break = false;
      out += c;
    }
  }
}

bool succeeded(const PGresult* result) {
  const auto status = result != nullptr ? PQresultStatus(result) : PGRES_FATAL_ERROR;
  return status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK;
}

struct Arguments {
  std::vector<const char*> values;
  std::vector<int> lengths;
  std::vector<int> formats;

  explicit Arguments(const std::vector<Param>& params) {
    for (const Param& p : params) {
      // An empty bytes value still needs a non-null pointer: null means SQL NULL.
      values.push_back(p.data ? p.data->c_str() : nullptr);
      lengths.push_back(p.data ? static_cast<int>(p.data->size()) : 0);
      formats.push_back(p.binary ? 1 : 0);
    }
  }
  int count() const { return static_cast<int>(values.size()); }
};

}  // namespace

Error error_of(PGconn* conn, const PGresult* result, std::string_view what) {
  std::string message(what);
  message += ": ";
  append_one_line(message, result != nullptr ? PQresultErrorMessage(result) : PQerrorMessage(conn));
  if (message.ends_with(": ")) message.resize(message.size() - 2);
  Errc code = Errc::io;
  if (PQstatus(conn) != CONNECTION_OK) code = Errc::unavailable;
  if (result != nullptr) {
    const char* state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
    const std::string_view sqlstate = state != nullptr ? state : "";
    if (sqlstate.starts_with("22") || sqlstate.starts_with("23")) code = Errc::invalid_argument;
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
                        const std::vector<Param>& params, Rows rows) {
  const Arguments args(params);
  ResultSet result(PQexecParams(conn, sql, args.count(), nullptr, args.values.data(),
                                args.lengths.data(), args.formats.data(),
                                rows == Rows::binary ? 1 : 0));
  if (!succeeded(result.get())) return fail(error_of(conn, result.get(), what));
  return result;
}

Status script(PGconn* conn, std::string_view what, const char* sql) {
  ResultSet result(PQexec(conn, sql));  // several statements: PQexec, not PQexecParams
  if (!succeeded(result.get())) return fail(error_of(conn, result.get(), what));
  return {};
}

Status prepare(PGconn* conn, const char* name, const char* sql, int parameters) {
  ResultSet result(PQprepare(conn, name, sql, parameters, nullptr));
  if (succeeded(result.get())) return {};
  const char* state =
      result != nullptr ? PQresultErrorField(result.get(), PG_DIAG_SQLSTATE) : nullptr;
  if (state != nullptr && std::string_view(state) == "42P05") return {};  // already prepared
  return fail(error_of(conn, result.get(), std::string("prepare ") + name));
}

Result<ResultSet> run_prepared(PGconn* conn, std::string_view what, const char* name,
                               const std::vector<Param>& params, Rows rows) {
  const Arguments args(params);
  ResultSet result(PQexecPrepared(conn, name, args.count(), args.values.data(), args.lengths.data(),
                                  args.formats.data(), rows == Rows::binary ? 1 : 0));
  if (!succeeded(result.get())) return fail(error_of(conn, result.get(), what));
  return result;
}

std::int64_t int8(const PGresult* result, int row, int column) {
  std::uint64_t raw = 0;  // eight bytes, most significant first
  std::memcpy(&raw, PQgetvalue(result, row, column), sizeof raw);
  return static_cast<std::int64_t>(be64toh(raw));
}

std::int32_t int4(const PGresult* result, int row, int column) {
  std::uint32_t raw = 0;
  std::memcpy(&raw, PQgetvalue(result, row, column), sizeof raw);
  return static_cast<std::int32_t>(be32toh(raw));
}

std::string bytes(const PGresult* result, int row, int column) {
  return std::string(PQgetvalue(result, row, column),
                     static_cast<std::size_t>(PQgetlength(result, row, column)));
}

std::uint64_t affected(const PGresult* result) {
  const char* count = PQcmdTuples(const_cast<PGresult*>(result));
  return count != nullptr && *count != '\0' ? std::stoull(count) : 0;
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

}  // namespace fleet::sql::postgres
