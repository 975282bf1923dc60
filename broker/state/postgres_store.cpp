// The state store in PostgreSQL, shared by many nodes. Every write takes the bucket's counter row
// first (UPDATE ... RETURNING locks it until commit), so writes to one bucket are serialised and
// revisions are unique and increasing in commit order; a compare-and-set reads the entry after
// taking that lock (READ COMMITTED reads what the previous holder committed). Times are the
// server's clock, so nodes with skewed clocks still agree on when an entry expires.
#include <map>
#include <string>
#include <utility>

#include "fleet/sql/postgres.hpp"
#include "state/key_value.hpp"
#include "state/names.hpp"
#include "state/stores.hpp"

namespace fleet::broker::state {
namespace {

namespace pg = sql::postgres;

constexpr const char* schema = R"sql(
CREATE TABLE IF NOT EXISTS fleet_kv_buckets (
  name text PRIMARY KEY,
  ttl_ms bigint NOT NULL,                -- 0 = entries never expire
  last_revision bigint NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS fleet_kv_entries (
  bucket text NOT NULL,
  key text NOT NULL,
  value bytea NOT NULL,
  revision bigint NOT NULL,
  written_at timestamptz NOT NULL,
  expires_at timestamptz,                -- written_at + the bucket's TTL; NULL = never
  PRIMARY KEY (bucket, key)
);
CREATE INDEX IF NOT EXISTS fleet_kv_entries_expiry
  ON fleet_kv_entries (bucket, expires_at) WHERE expires_at IS NOT NULL;
)sql";

// Serialises schema creation across nodes: concurrent CREATE TABLE IF NOT EXISTS can fail.
constexpr const char* schema_lock = "SELECT pg_advisory_xact_lock(7204518713322015451)";

constexpr int sweep_limit = 1000;

// Upserts take the time once (clock_timestamp() is the current time, unlike now()).
constexpr const char* upsert_tail =
    " ON CONFLICT (bucket, key) DO UPDATE SET value = excluded.value, "
    "revision = excluded.revision, written_at = excluded.written_at, "
    "expires_at = excluded.expires_at";

std::string hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

// A text[] literal. Every element is quoted (an unquoted NULL would be SQL NULL); the elements
// here (checked keys, hex) hold no quote or backslash.
std::string array_literal(const std::vector<std::string>& items) {
  std::string out = "{";
  for (const auto& item : items) {
    if (out.size() > 1) out += ',';
    out += '"' + item + '"';
  }
  return out + "}";
}

class PostgresSession final : public Session {
 public:
  static Result<std::unique_ptr<PostgresSession>> open(const std::string& url, std::string bucket) {
    auto conn = pg::connect(url);
    if (!conn) return fail(conn.error());
    return std::unique_ptr<PostgresSession>(
        new PostgresSession(std::move(*conn), std::move(bucket)));
  }

  // Creates the bucket's row, or brings its TTL to `ttl_ms`, recomputing when its entries
  // expire (counted from their last write, as on JetStream).
  Status ensure_bucket(std::int64_t ttl_ms) {
    pg::Transaction tx(conn());
    if (auto ok = tx.begin(); !ok) return ok;
    const std::string ttl = std::to_string(ttl_ms);
    if (auto ok = pg::query(conn(), "create bucket",
                            "INSERT INTO fleet_kv_buckets (name, ttl_ms) VALUES ($1, $2::bigint) "
                            "ON CONFLICT (name) DO NOTHING",
                            {{bucket_}, {ttl}});
        !ok) {
      return fail(ok.error());
    }
    auto current = pg::query(conn(), "read bucket",
                             "SELECT ttl_ms FROM fleet_kv_buckets WHERE name = $1 FOR UPDATE",
                             {{bucket_}}, pg::Rows::binary);
    if (!current) return fail(current.error());
    if (pg::int8(current->get(), 0, 0) != ttl_ms) {
      for (const char* sql :
           {"UPDATE fleet_kv_buckets SET ttl_ms = $2::bigint WHERE name = $1",
            "UPDATE fleet_kv_entries SET expires_at = CASE WHEN $2::bigint > 0 "
            "THEN written_at + $2::bigint * interval '1 millisecond' END WHERE bucket = $1"}) {
        if (auto ok = pg::query(conn(), "update bucket ttl", sql, {{bucket_}, {ttl}}); !ok) {
          return fail(ok.error());
        }
      }
    }
    return tx.commit();
  }

  Result<std::optional<Entry>> get(std::string_view key) override {
    if (auto ok = pg::reconnect(conn()); !ok) return fail(ok.error());
    return live(key);
  }

  Result<std::uint64_t> write(std::string_view key, std::string_view value,
                              std::optional<std::uint64_t> expected) override {
    if (auto ok = pg::reconnect(conn()); !ok) return fail(ok.error());
    pg::Transaction tx(conn());
    if (auto ok = tx.begin(); !ok) return fail(ok.error());
    auto claimed = claim(1);  // first: the check below must see the last writer's commit
    if (!claimed) return fail(claimed.error());
    if (expected) {
      auto latest = live(key);
      if (!latest) return fail(latest.error());
      const std::uint64_t revision = *latest ? (*latest)->revision : 0;
      if (revision != *expected) {
        return fail(Errc::conflict, "latest revision is " + std::to_string(revision) + ", not " +
                                        std::to_string(*expected));
      }
    }
    const std::string sql =
        std::string(
            "INSERT INTO fleet_kv_entries (bucket, key, value, revision, written_at, expires_at) "
            "SELECT $1, $2, $3, $4::bigint, t.at, CASE WHEN $5::bigint > 0 "
            "THEN t.at + $5::bigint * interval '1 millisecond' END "
            "FROM (SELECT clock_timestamp() AS at) t") +
        upsert_tail;
    if (auto ok = pg::query(conn(), "write", sql.c_str(),
                            {{bucket_},
                             {std::string(key)},
                             pg::Param::bytes(value),
                             {std::to_string(claimed->last)},
                             {std::to_string(claimed->ttl_ms)}});
        !ok) {
      return fail(ok.error());
    }
    if (auto ok = tx.commit(); !ok) return fail(ok.error());
    return static_cast<std::uint64_t>(claimed->last);
  }

  Status erase(std::string_view key) override {
    if (auto ok = pg::reconnect(conn()); !ok) return ok;
    pg::Transaction tx(conn());
    if (auto ok = tx.begin(); !ok) return ok;
    if (auto claimed = claim(1); !claimed) return fail(claimed.error());
    if (auto ok = pg::query(conn(), "delete",
                            "DELETE FROM fleet_kv_entries WHERE bucket = $1 AND key = $2",
                            {{bucket_}, {std::string(key)}});
        !ok) {
      return fail(ok.error());
    }
    return tx.commit();
  }

  // One INSERT for the whole batch, from arrays. ON CONFLICT cannot touch a row twice in one
  // statement, so a key queued twice is written once, with its last value and revision (the
  // same outcome as two writes in one transaction).
  Result<std::vector<std::uint64_t>> write_batch(std::span<const QueuedPut> puts) override {
    if (auto ok = pg::reconnect(conn()); !ok) return fail(ok.error());
    pg::Transaction tx(conn());
    if (auto ok = tx.begin(); !ok) return fail(ok.error());
    auto claimed = claim(static_cast<std::int64_t>(puts.size()));
    if (!claimed) return fail(claimed.error());
    const std::int64_t first = claimed->last - static_cast<std::int64_t>(puts.size()) + 1;
    std::map<std::string_view, std::size_t> last_index;
    for (std::size_t i = 0; i < puts.size(); ++i) last_index[puts[i].key] = i;
    std::vector<std::string> keys, values, revisions;
    for (const auto& [key, i] : last_index) {
      keys.emplace_back(key);
      values.push_back(hex(puts[i].value));
      revisions.push_back(std::to_string(first + static_cast<std::int64_t>(i)));
    }
    const std::string sql =
        std::string(
            "INSERT INTO fleet_kv_entries (bucket, key, value, revision, written_at, expires_at) "
            "SELECT $1, u.key, decode(u.value, 'hex'), u.revision, t.at, CASE WHEN $5::bigint > 0 "
            "THEN t.at + $5::bigint * interval '1 millisecond' END "
            "FROM unnest($2::text[], $3::text[], $4::bigint[]) AS u(key, value, revision), "
            "(SELECT clock_timestamp() AS at) t") +
        upsert_tail;
    if (auto ok = pg::query(conn(), "write batch", sql.c_str(),
                            {{bucket_},
                             {array_literal(keys)},
                             {array_literal(values)},
                             {array_literal(revisions)},
                             {std::to_string(claimed->ttl_ms)}});
        !ok) {
      return fail(ok.error());
    }
    if (auto ok = tx.commit(); !ok) return fail(ok.error());
    std::vector<std::uint64_t> out;
    out.reserve(puts.size());
    for (std::size_t i = 0; i < puts.size(); ++i) {
      out.push_back(static_cast<std::uint64_t>(first + static_cast<std::int64_t>(i)));
    }
    return out;
  }

  // The outer expires_at test matters: if another node rewrites a row between the inner select
  // and the delete, PostgreSQL re-checks the outer condition on the new row version only.
  Result<bool> remove_expired() override {
    if (auto ok = pg::reconnect(conn()); !ok) return fail(ok.error());
    auto deleted = pg::query(
        conn(), "remove expired",
        "DELETE FROM fleet_kv_entries WHERE bucket = $1 AND expires_at <= clock_timestamp() "
        "AND key IN (SELECT key FROM fleet_kv_entries WHERE bucket = $1 "
        "AND expires_at <= clock_timestamp() LIMIT $2::int)",
        {{bucket_}, {std::to_string(sweep_limit)}});
    if (!deleted) return fail(deleted.error());
    return pg::affected(deleted->get()) >= sweep_limit;
  }

 private:
  struct Claimed {
    std::int64_t last = 0;  // the last of the revisions taken
    std::int64_t ttl_ms = 0;
  };

  PostgresSession(pg::Connection conn, std::string bucket)
      : conn_(std::move(conn)), bucket_(std::move(bucket)) {}

  PGconn* conn() const { return conn_.get(); }

  Result<std::optional<Entry>> live(std::string_view key) {
    auto rows = pg::query(conn(), "read",
                          "SELECT value, revision FROM fleet_kv_entries WHERE bucket = $1 "
                          "AND key = $2 AND (expires_at IS NULL OR expires_at > clock_timestamp())",
                          {{bucket_}, {std::string(key)}}, pg::Rows::binary);
    if (!rows) return fail(rows.error());
    if (PQntuples(rows->get()) == 0) return std::optional<Entry>{};
    return std::optional<Entry>(Entry{pg::bytes(rows->get(), 0, 0),
                                      static_cast<std::uint64_t>(pg::int8(rows->get(), 0, 1))});
  }

  // Takes the bucket's next `count` revisions and holds its counter row until the caller's
  // transaction ends.
  Result<Claimed> claim(std::int64_t count) {
    auto rows = pg::query(conn(), "take a revision",
                          "UPDATE fleet_kv_buckets SET last_revision = last_revision + $2::bigint "
                          "WHERE name = $1 RETURNING last_revision, ttl_ms",
                          {{bucket_}, {std::to_string(count)}}, pg::Rows::binary);
    if (!rows) return fail(rows.error());
    if (PQntuples(rows->get()) == 0) {
      return fail(Errc::not_found, "no bucket " + bucket_ + " in the state store");
    }
    return Claimed{pg::int8(rows->get(), 0, 0), pg::int8(rows->get(), 0, 1)};
  }

  pg::Connection conn_;
  std::string bucket_;
};

class PostgresStore final : public Store {
 public:
  explicit PostgresStore(std::string url) : url_(std::move(url)) {}

  Result<std::unique_ptr<KeyValue>> bucket(const BucketConfig& config) override {
    if (auto ok = check_bucket(config); !ok) return fail(ok.error());
    auto calls = PostgresSession::open(url_, config.name);
    if (!calls) return fail(calls.error());
    if (auto ok = (*calls)->ensure_bucket(config.ttl.count()); !ok) {
      return fail(ok.error().code, "open bucket " + config.name + ": " + ok.error().message);
    }
    auto writer = PostgresSession::open(url_, config.name);
    if (!writer) return fail(writer.error());
    return make_key_value(config.name, std::move(*calls), std::move(*writer));
  }

 private:
  std::string url_;
};

}  // namespace

Result<std::shared_ptr<Store>> open_postgres(const std::string& url) {
  auto conn = pg::connect(url);
  if (!conn) return fail(conn.error());
  pg::Transaction tx(conn->get());
  if (auto ok = tx.begin(); !ok) return fail(ok.error());
  if (auto ok = pg::query(conn->get(), "lock schema", schema_lock); !ok) return fail(ok.error());
  if (auto ok = pg::script(conn->get(), "create state store tables", schema); !ok) {
    return fail(ok.error());
  }
  if (auto ok = tx.commit(); !ok) return fail(ok.error());
  return std::shared_ptr<Store>(std::make_shared<PostgresStore>(url));
}

}  // namespace fleet::broker::state
