// The state store in one SQLite file. Every write runs in a BEGIN IMMEDIATE transaction, which
// holds the file's write lock: compare-and-set is a read and a write under that lock, and the
// bucket's revision counter (a row of fleet_kv_buckets) is bumped in the same transaction, so
// revisions are unique and increasing per bucket across every process using the file.
// Times are Unix milliseconds of the host's clock (all users of the file share it).
#include <chrono>
#include <string>
#include <utility>

#include "fleet/sql/sqlite.hpp"
#include "state/key_value.hpp"
#include "state/names.hpp"
#include "state/stores.hpp"

namespace fleet::broker::state {
namespace {

namespace sqlite = sql::sqlite;

constexpr const char* schema = R"sql(
CREATE TABLE IF NOT EXISTS fleet_kv_buckets (
  name TEXT PRIMARY KEY,
  ttl_ms INTEGER NOT NULL,               -- 0 = entries never expire
  last_revision INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS fleet_kv_entries (
  bucket TEXT NOT NULL,
  key TEXT NOT NULL,
  value BLOB NOT NULL,
  revision INTEGER NOT NULL,
  written_at INTEGER NOT NULL,           -- Unix ms, rounded up
  expires_at INTEGER,                    -- written_at + the bucket's TTL; NULL = never
  PRIMARY KEY (bucket, key)
);
CREATE INDEX IF NOT EXISTS fleet_kv_entries_expiry
  ON fleet_kv_entries (bucket, expires_at) WHERE expires_at IS NOT NULL;
)sql";

// Expired rows deleted per transaction by the writer thread's sweep.
constexpr std::int64_t sweep_limit = 1000;

// Reads compare against the current millisecond rounded down and writes stamp it rounded up,
// so an entry is never gone before its full TTL has passed.
std::int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}
std::int64_t now_ms_rounded_up() {
  using namespace std::chrono;
  return ceil<milliseconds>(system_clock::now().time_since_epoch()).count();
}

class SqliteSession final : public Session {
 public:
  static Result<std::unique_ptr<SqliteSession>> open(const std::string& path, std::string bucket) {
    auto db = sqlite::open_database(path);
    if (!db) return fail(db.error());
    std::unique_ptr<SqliteSession> session(new SqliteSession(std::move(*db), std::move(bucket)));
    if (auto ok = session->prepare_all(); !ok) return fail(ok.error());
    return session;
  }

  // Creates the bucket's row, or brings its TTL to `ttl_ms`, recomputing when its entries
  // expire (counted from their last write, as on JetStream).
  Status ensure_bucket(std::int64_t ttl_ms) {
    sqlite::Transaction tx(db_.get());
    if (auto ok = tx.begin(); !ok) return ok;
    auto current = one_shot("SELECT ttl_ms FROM fleet_kv_buckets WHERE name = ?1", ttl_ms);
    if (!current) return fail(current.error());
    if (!*current) {
      auto ok = one_shot("INSERT INTO fleet_kv_buckets (name, ttl_ms) VALUES (?1, ?2)", ttl_ms);
      if (!ok) return fail(ok.error());
    } else if (**current != ttl_ms) {
      for (const char* sql :
           {"UPDATE fleet_kv_buckets SET ttl_ms = ?2 WHERE name = ?1",
            "UPDATE fleet_kv_entries SET expires_at = CASE WHEN ?2 > 0 THEN written_at + ?2 END "
            "WHERE bucket = ?1"}) {
        if (auto ok = one_shot(sql, ttl_ms); !ok) return fail(ok.error());
      }
    }
    return tx.commit();
  }

  Result<std::optional<Entry>> get(std::string_view key) override {
    sqlite::Query query(select_.get());
    query.bind(1, bucket_).bind(2, key).bind(3, now_ms());
    auto row = query.step("read");
    if (!row) return fail(row.error());
    if (!*row) return std::optional<Entry>{};
    return std::optional<Entry>(Entry{query.bytes(0), static_cast<std::uint64_t>(query.int64(1))});
  }

  Result<std::uint64_t> write(std::string_view key, std::string_view value,
                              std::optional<std::uint64_t> expected) override {
    sqlite::Transaction tx(db_.get());
    if (auto ok = tx.begin(); !ok) return fail(ok.error());
    if (expected) {
      auto latest = get(key);
      if (!latest) return fail(latest.error());
      const std::uint64_t revision = *latest ? (*latest)->revision : 0;
      if (revision != *expected) {
        return fail(Errc::conflict, "latest revision is " + std::to_string(revision) + ", not " +
                                        std::to_string(*expected));
      }
    }
    auto claimed = claim(1);
    if (!claimed) return fail(claimed.error());
    if (auto ok = store(key, value, claimed->last, claimed->ttl_ms, now_ms_rounded_up()); !ok) {
      return fail(ok.error());
    }
    if (auto ok = tx.commit(); !ok) return fail(ok.error());
    return static_cast<std::uint64_t>(claimed->last);
  }

  Status erase(std::string_view key) override {
    sqlite::Transaction tx(db_.get());
    if (auto ok = tx.begin(); !ok) return ok;
    if (auto claimed = claim(1); !claimed) return fail(claimed.error());
    sqlite::Query query(delete_.get());
    query.bind(1, bucket_).bind(2, key);
    if (auto done = query.step("delete"); !done) return fail(done.error());
    return tx.commit();
  }

  Result<std::vector<std::uint64_t>> write_batch(std::span<const QueuedPut> puts) override {
    sqlite::Transaction tx(db_.get());
    if (auto ok = tx.begin(); !ok) return fail(ok.error());
    auto claimed = claim(static_cast<std::int64_t>(puts.size()));
    if (!claimed) return fail(claimed.error());
    const std::int64_t first = claimed->last - static_cast<std::int64_t>(puts.size()) + 1;
    const std::int64_t written_at = now_ms_rounded_up();
    std::vector<std::uint64_t> revisions;
    revisions.reserve(puts.size());
    for (const QueuedPut& put : puts) {
      const std::int64_t revision = first + static_cast<std::int64_t>(revisions.size());
      if (auto ok = store(put.key, put.value, revision, claimed->ttl_ms, written_at); !ok) {
        return fail(ok.error());
      }
      revisions.push_back(static_cast<std::uint64_t>(revision));
    }
    if (auto ok = tx.commit(); !ok) return fail(ok.error());
    return revisions;
  }

  Result<bool> remove_expired() override {
    sqlite::Transaction tx(db_.get());
    if (auto ok = tx.begin(); !ok) return fail(ok.error());
    sqlite::Query query(sweep_.get());
    query.bind(1, bucket_).bind(2, now_ms()).bind(3, sweep_limit);
    if (auto done = query.step("remove expired"); !done) return fail(done.error());
    const bool more = query.changes() >= sweep_limit;
    if (auto ok = tx.commit(); !ok) return fail(ok.error());
    return more;
  }

 private:
  struct Claimed {
    std::int64_t last = 0;  // the last of the revisions taken
    std::int64_t ttl_ms = 0;
  };

  SqliteSession(sqlite::Database db, std::string bucket)
      : db_(std::move(db)), bucket_(std::move(bucket)) {}

  Status prepare_all() {
    const std::pair<sqlite::Statement*, const char*> statements[] = {
        {&select_,
         "SELECT value, revision FROM fleet_kv_entries WHERE bucket = ?1 AND key = ?2 "
         "AND (expires_at IS NULL OR expires_at > ?3)"},
        {&claim_,
         "UPDATE fleet_kv_buckets SET last_revision = last_revision + ?2 WHERE name = ?1 "
         "RETURNING last_revision, ttl_ms"},
        {&upsert_,
         "INSERT INTO fleet_kv_entries (bucket, key, value, revision, written_at, expires_at) "
         "VALUES (?1, ?2, ?3, ?4, ?5, CASE WHEN ?6 > 0 THEN ?5 + ?6 END) "
         "ON CONFLICT (bucket, key) DO UPDATE SET value = excluded.value, "
         "revision = excluded.revision, written_at = excluded.written_at, "
         "expires_at = excluded.expires_at"},
        {&delete_, "DELETE FROM fleet_kv_entries WHERE bucket = ?1 AND key = ?2"},
        {&sweep_,
         "DELETE FROM fleet_kv_entries WHERE rowid IN (SELECT rowid FROM fleet_kv_entries "
         "WHERE bucket = ?1 AND expires_at <= ?2 LIMIT ?3)"},
    };
    for (const auto& [statement, sql] : statements) {
      auto prepared = sqlite::prepare(db_.get(), sql);
      if (!prepared) return fail(prepared.error());
      *statement = std::move(*prepared);
    }
    return {};
  }

  // Takes the bucket's next `count` revisions; inside the caller's transaction.
  Result<Claimed> claim(std::int64_t count) {
    sqlite::Query query(claim_.get());
    query.bind(1, bucket_).bind(2, count);
    auto row = query.step("take a revision");
    if (!row) return fail(row.error());
    if (!*row) return fail(Errc::not_found, "no bucket " + bucket_ + " in the state store");
    return Claimed{query.int64(0), query.int64(1)};
  }

  Status store(std::string_view key, std::string_view value, std::int64_t revision,
               std::int64_t ttl_ms, std::int64_t written_at) {
    sqlite::Query query(upsert_.get());
    query.bind(1, bucket_).bind(2, key).bind_blob(3, value).bind(4, revision);
    query.bind(5, written_at).bind(6, ttl_ms);
    if (auto done = query.step("write"); !done) return fail(done.error());
    return {};
  }

  // A statement run once, with the bucket's name as ?1 and `number` as ?2: its first column of
  // the first row, if any.
  Result<std::optional<std::int64_t>> one_shot(const char* sql, std::int64_t number) {
    auto prepared = sqlite::prepare(db_.get(), sql);
    if (!prepared) return fail(prepared.error());
    sqlite::Query query(prepared->get());
    query.bind(1, bucket_);
    if (query.parameter_count() >= 2) query.bind(2, number);
    auto row = query.step("open bucket");
    if (!row) return fail(row.error());
    if (!*row) return std::optional<std::int64_t>{};
    return std::optional<std::int64_t>(query.int64(0));
  }

  sqlite::Database db_;
  std::string bucket_;
  // Declared after db_: finalized before the connection closes.
  sqlite::Statement select_, claim_, upsert_, delete_, sweep_;
};

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(std::string path) : path_(std::move(path)) {}

  Result<std::unique_ptr<KeyValue>> bucket(const BucketConfig& config) override {
    if (auto ok = check_bucket(config); !ok) return fail(ok.error());
    auto calls = SqliteSession::open(path_, config.name);
    if (!calls) return fail(calls.error());
    if (auto ok = (*calls)->ensure_bucket(config.ttl.count()); !ok) {
      return fail(ok.error().code, "open bucket " + config.name + ": " + ok.error().message);
    }
    auto writer = SqliteSession::open(path_, config.name);
    if (!writer) return fail(writer.error());
    return make_key_value(config.name, std::move(*calls), std::move(*writer));
  }

 private:
  std::string path_;
};

}  // namespace

Result<std::shared_ptr<Store>> open_sqlite(const std::string& path) {
  auto db = sqlite::open_database(path);
  if (!db) return fail(db.error());
  auto created = sqlite::retry_while_busy([&]() -> Status {
    sqlite::Transaction tx(db->get());
    if (auto ok = tx.begin(); !ok) return ok;
    if (auto ok = sqlite::exec(db->get(), schema); !ok) return ok;
    return tx.commit();
  });
  if (!created) return fail(created.error());
  return std::shared_ptr<Store>(std::make_shared<SqliteStore>(path));
}

}  // namespace fleet::broker::state
