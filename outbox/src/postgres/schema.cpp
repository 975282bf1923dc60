// Versioned migrations of the PostgreSQL outbox. Append new migrations; never edit an applied one.
#include <array>

#include "fleet/outbox/postgres.hpp"

namespace fleet::outbox::postgres {
namespace {

using sql::postgres::query;
using sql::postgres::script;
using sql::postgres::Transaction;

// Any constant unique to the outbox: serialises migrations of concurrent processes.
constexpr const char* lock_sql = "SELECT pg_advisory_xact_lock(7318450013)";

// Times are milliseconds since the Unix epoch. available_at doubles as the lease of a claimed
// row and the retry time of a failed one. The statement-level trigger NOTIFYs relays; PostgreSQL
// delivers it at commit and folds the notifications of one transaction into one.
constexpr std::array migrations = {
    R"sql(
CREATE TABLE fleet_outbox (
  id           bigserial PRIMARY KEY,
  event_id     text   NOT NULL,
  subject      text   NOT NULL,
  headers      text   NOT NULL,
  body         bytea  NOT NULL,
  created_at   bigint NOT NULL DEFAULT (extract(epoch FROM clock_timestamp()) * 1000)::bigint,
  available_at bigint NOT NULL DEFAULT 0,
  attempts     integer NOT NULL DEFAULT 0,
  last_error   text,
  flagged_at   bigint,
  sent_at      bigint
);
CREATE INDEX fleet_outbox_unsent ON fleet_outbox (id) WHERE sent_at IS NULL AND flagged_at IS NULL;
CREATE INDEX fleet_outbox_sent ON fleet_outbox (sent_at) WHERE sent_at IS NOT NULL;
CREATE FUNCTION fleet_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS
  $$ BEGIN PERFORM pg_notify('fleet_outbox', ''); RETURN NULL; END $$;
CREATE TRIGGER fleet_outbox_appended AFTER INSERT ON fleet_outbox
  FOR EACH STATEMENT EXECUTE FUNCTION fleet_outbox_notify();
)sql",
};

Status migrate(PGconn* conn) {
  if (auto ok = query(conn, "lock outbox schema", lock_sql); !ok) return fail(ok.error());
  if (auto ok = query(conn, "create outbox schema version table",
                      "CREATE TABLE IF NOT EXISTS fleet_outbox_schema_version "
                      "(version integer NOT NULL)");
      !ok) {
    return fail(ok.error());
  }
  auto version = query(conn, "read outbox schema version",
                       "SELECT coalesce(max(version), 0) FROM fleet_outbox_schema_version");
  if (!version) return fail(version.error());
  const int current = std::stoi(sql::postgres::bytes(version->get(), 0, 0));
  if (current > static_cast<int>(migrations.size())) {
    return fail(Errc::invalid_argument, "outbox schema version " + std::to_string(current) +
                                            " is newer than this fleet knows");
  }
  for (int next = current + 1; next <= static_cast<int>(migrations.size()); ++next) {
    if (auto ok = script(conn, "migrate outbox schema", migrations[next - 1]); !ok) return ok;
    if (auto ok = query(conn, "record outbox schema version",
                        "INSERT INTO fleet_outbox_schema_version (version) VALUES ($1)",
                        {std::to_string(next)});
        !ok) {
      return fail(ok.error());
    }
  }
  return {};
}

}  // namespace

Status ensure_schema(PGconn* conn) {
  if (PQtransactionStatus(conn) == PQTRANS_INTRANS) {
    if (auto ok = query(conn, "savepoint", "SAVEPOINT fleet_outbox_migrate"); !ok) {
      return fail(ok.error());
    }
    auto ok = migrate(conn);
    if (!ok) {
      (void)query(conn, "rollback to savepoint", "ROLLBACK TO SAVEPOINT fleet_outbox_migrate");
      return ok;
    }
    if (auto released = query(conn, "release savepoint", "RELEASE SAVEPOINT fleet_outbox_migrate");
        !released) {
      return fail(released.error());
    }
    return {};
  }
  Transaction transaction(conn);
  if (auto ok = transaction.begin(); !ok) return ok;
  if (auto ok = migrate(conn); !ok) return ok;
  return transaction.commit();
}

}  // namespace fleet::outbox::postgres
