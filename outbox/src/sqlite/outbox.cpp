#include "event_check.hpp"
#include "fleet/outbox/sqlite.hpp"
#include "fleet/schemas/envelope.hpp"
#include "stored_headers.hpp"

namespace fleet::outbox::sqlite {

using sql::sqlite::prepare;
using sql::sqlite::Query;

Result<Outbox> Outbox::open(sqlite3* db) {
  if (auto ok = ensure_schema(db); !ok) return fail(ok.error());
  auto insert = prepare(db,
                        "INSERT INTO fleet_outbox (event_id, subject, headers, body) "
                        "VALUES (?1, ?2, ?3, ?4)");
  if (!insert) return fail(insert.error());
  return Outbox(std::move(*insert));
}

Status Outbox::append(const OutboxEvent& event) {
  if (auto ok = check_event(event); !ok) return ok;
  auto headers = headers_to_text(schemas::to_headers(event.meta));
  if (!headers) return fail(headers.error());
  Query query(insert_.get());
  query.bind(1, event.meta.id).bind(2, event.subject).bind(3, *headers).bind_blob(4, event.body);
  return query.run("append to outbox");
}

}  // namespace fleet::outbox::sqlite
