#include "connection.hpp"
#include "event_check.hpp"
#include "fleet/outbox/sqlite.hpp"
#include "fleet/schemas/envelope.hpp"
#include "stored_headers.hpp"

namespace fleet::outbox::sqlite {

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
  sqlite3_stmt* stmt = insert_.get();
  sqlite::bind(stmt, 1, event.meta.id);
  sqlite::bind(stmt, 2, event.subject);
  sqlite::bind(stmt, 3, *headers);
  bind_blob(stmt, 4, event.body);
  return run(sqlite3_db_handle(stmt), stmt, "append to outbox");
}

}  // namespace fleet::outbox::sqlite
