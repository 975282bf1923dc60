#include <string_view>

#include "event_check.hpp"
#include "fleet/outbox/postgres.hpp"
#include "fleet/schemas/envelope.hpp"
#include "stored_headers.hpp"

namespace fleet::outbox::postgres {
namespace {

namespace pg = sql::postgres;

constexpr const char* append_statement = "fleet_outbox_append";

}  // namespace

Result<Outbox> Outbox::open(PGconn* conn) {
  if (auto ok = ensure_schema(conn); !ok) return fail(ok.error());
  // A second Outbox on the same connection finds the statement already prepared.
  if (auto ok = pg::prepare(conn, append_statement,
                            "INSERT INTO fleet_outbox (event_id, subject, headers, body) "
                            "VALUES ($1, $2, $3, $4)",
                            4);
      !ok) {
    return fail(ok.error());
  }
  return Outbox(conn);
}

Status Outbox::append(const OutboxEvent& event) {
  if (auto ok = check_event(event); !ok) return ok;
  auto headers_text = headers_to_text(schemas::to_headers(event.meta));
  if (!headers_text) return fail(headers_text.error());
  // The body goes as binary bytea.
  auto appended =
      pg::run_prepared(conn_, "append to outbox", append_statement,
                       {event.meta.id, event.subject, *headers_text, pg::Param::bytes(event.body)});
  if (!appended) return fail(appended.error());
  return {};
}

}  // namespace fleet::outbox::postgres
