#include <string_view>

#include "connection.hpp"
#include "event_check.hpp"
#include "fleet/outbox/postgres.hpp"
#include "fleet/schemas/envelope.hpp"
#include "stored_headers.hpp"

namespace fleet::outbox::postgres {
namespace {

constexpr const char* append_statement = "fleet_outbox_append";
constexpr std::string_view duplicate_prepared_statement = "42P05";

}  // namespace

Result<Outbox> Outbox::open(PGconn* conn) {
  if (auto ok = ensure_schema(conn); !ok) return fail(ok.error());
  ResultSet prepared(PQprepare(conn, append_statement,
                               "INSERT INTO fleet_outbox (event_id, subject, headers, body) "
                               "VALUES ($1, $2, $3, $4)",
                               4, nullptr));
  if (PQresultStatus(prepared.get()) != PGRES_COMMAND_OK) {
    const char* state = PQresultErrorField(prepared.get(), PG_DIAG_SQLSTATE);
    // A second Outbox on the same connection finds the statement already prepared.
    if (state == nullptr || state != duplicate_prepared_statement) {
      return fail(error_of(conn, prepared.get(), "prepare outbox append"));
    }
  }
  return Outbox(conn);
}

Status Outbox::append(const OutboxEvent& event) {
  if (auto ok = check_event(event); !ok) return ok;
  auto headers_text = headers_to_text(schemas::to_headers(event.meta));
  if (!headers_text) return fail(headers_text.error());
  const std::string& headers = *headers_text;
  const char* values[4] = {event.meta.id.c_str(), event.subject.c_str(), headers.c_str(),
                           event.body.data()};
  const int lengths[4] = {0, 0, 0, static_cast<int>(event.body.size())};
  const int formats[4] = {0, 0, 0, 1};  // the body goes as binary bytea
  ResultSet result(PQexecPrepared(conn_, append_statement, 4, values, lengths, formats, 0));
  if (PQresultStatus(result.get()) != PGRES_COMMAND_OK) {
    return fail(error_of(conn_, result.get(), "append to outbox"));
  }
  return {};
}

}  // namespace fleet::outbox::postgres
