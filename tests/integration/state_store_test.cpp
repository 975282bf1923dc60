// The SQL state store beyond the key-value acceptance suite (which runs on it through
// state_store_envs.hpp): several processes on one SQLite file, put_async draining on destruction,
// expired rows deleted from the file, and the URL forms.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <set>
#include <thread>
#include <vector>

#include "eventually.hpp"
#include "fleet/sql/postgres.hpp"
#include "fleet/sql/sqlite.hpp"
#include "state_store_envs.hpp"

namespace fleet::test::acceptance {
namespace {

using broker::BucketConfig;
using broker::KeyValue;
namespace state = broker::state;

BucketConfig bucket_named(std::string name, milliseconds ttl = {}) {
  BucketConfig config;
  config.name = std::move(name);
  config.ttl = ttl;
  return config;
}

TEST_CASE("state store: two stores on one SQLite file race update and exactly one wins") {
  TempDir dir;
  const std::string url = "sqlite:" + (dir.path() / "state.db").string();
  // Two Stores share nothing in the process: they meet only in the file, as two processes do.
  auto store_a = ok(state::open(url));
  auto store_b = ok(state::open(url));
  const auto config = bucket_named("saga_race");
  auto kv_a = ok(store_a->bucket(config));
  auto kv_b = ok(store_b->bucket(config));

  constexpr int rounds = 50;
  for (int round = 0; round < rounds; ++round) {
    const std::uint64_t base = ok(kv_a->put("saga.1", "base"));
    std::atomic<int> ready{0};
    Result<std::uint64_t> a = fail(Errc::internal, "not run");
    Result<std::uint64_t> b = fail(Errc::internal, "not run");
    auto racer = [&](KeyValue& kv, Result<std::uint64_t>& out, const char* value) {
      ++ready;
      while (ready < 2) std::this_thread::yield();
      out = kv.update("saga.1", value, base);
    };
    std::thread writer_a(racer, std::ref(*kv_a), std::ref(a), "a");
    std::thread writer_b(racer, std::ref(*kv_b), std::ref(b), "b");
    writer_a.join();
    writer_b.join();
    INFO("round " << round << ": a=" << (a ? "ok" : a.error().message)
                  << " b=" << (b ? "ok" : b.error().message));
    REQUIRE(a.has_value() != b.has_value());
    const auto& loser = a ? b : a;
    CHECK(loser.error().code == Errc::conflict);
    const auto got = ok(kv_b->get("saga.1"));
    REQUIRE(got.has_value());
    CHECK(got->value == (a ? "a" : "b"));
    CHECK(got->revision == (a ? *a : *b));
  }
}

// Adds one to the counter under `key` `times` times by get + update, retrying on conflict.
// Returns a process exit status: 0 when every increment landed.
int increment(const std::string& url, const BucketConfig& config, int times) {
  auto store = state::open(url);
  if (!store) return 2;
  auto kv = (*store)->bucket(config);
  if (!kv) return 3;
  if (auto created = (*kv)->create("counter", "0"); !created) {
    if (created.error().code != Errc::conflict) return 6;  // another process was first
  }
  for (int done = 0; done < times;) {
    auto current = (*kv)->get("counter");
    if (!current || !*current) return 4;
    const int value = std::stoi((*current)->value);
    auto written = (*kv)->update("counter", std::to_string(value + 1), (*current)->revision);
    if (written) {
      ++done;
    } else if (written.error().code != Errc::conflict) {
      return 5;
    }
  }
  return 0;
}

TEST_CASE("state store: processes incrementing one counter in a SQLite file lose no update") {
  TempDir dir;
  const std::string url = "sqlite:" + (dir.path() / "state.db").string();
  const auto config = bucket_named("counter");
  constexpr int processes = 3, times = 100;
  // Forked before this process opens anything: a child inherits SQLite's global mutexes in
  // whatever state the parent's threads (a bucket's writer) left them.
  std::vector<pid_t> children;
  for (int p = 0; p < processes; ++p) {
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) ::_exit(increment(url, config, times));  // no doctest in the child
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }
  auto kv = ok(ok(state::open(url))->bucket(config));
  const auto got = ok(kv->get("counter"));
  REQUIRE(got.has_value());
  CHECK(got->value == std::to_string(processes * times));
}

TEST_CASE("state store: revisions are unique across stores writing one SQLite file at once") {
  TempDir dir;
  const std::string url = "sqlite:" + (dir.path() / "state.db").string();
  const auto config = bucket_named("inbox_shared", 60s);
  constexpr int writers = 4, per_writer = 200;
  std::vector<std::vector<std::uint64_t>> seen(writers);
  std::mutex errors_mutex;
  std::vector<std::string> errors;  // doctest's assertions must stay on the test's thread
  auto note = [&](const Error& error) {
    std::lock_guard lock(errors_mutex);
    errors.push_back(error.message);
  };
  std::vector<std::thread> threads;
  for (int w = 0; w < writers; ++w) {
    threads.emplace_back([&, w] {
      auto store = state::open(url);  // a process of its own
      if (!store) return note(store.error());
      auto kv = (*store)->bucket(config);
      if (!kv) return note(kv.error());
      std::mutex mutex;
      for (int i = 0; i < per_writer; ++i) {
        const std::string key = "evt-" + std::to_string(w) + "-" + std::to_string(i);
        if (i % 2 == 0) {
          auto revision = (*kv)->put(key, "handled");
          if (!revision) return note(revision.error());
          std::lock_guard lock(mutex);  // callbacks push from the writer thread
          seen[w].push_back(*revision);
        } else {
          auto queued = (*kv)->put_async(key, "handled", [&, w](const Result<std::uint64_t>& r) {
            std::lock_guard lock(mutex);
            if (r) seen[w].push_back(*r);
            if (!r) note(r.error());
          });
          if (!queued) return note(queued.error());
        }
      }
      kv->reset();  // waits for every put_async callback
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(join(errors).empty());
  std::set<std::uint64_t> all;
  for (const auto& revisions : seen) {
    CHECK(revisions.size() == per_writer);
    all.insert(revisions.begin(), revisions.end());
  }
  CHECK(all.size() == writers * per_writer);
  CHECK(*all.begin() > 0);
}

TEST_CASE("state store: destroying a bucket calls every pending put_async callback") {
  TempDir dir;
  auto store = ok(state::open("sqlite:" + (dir.path() / "state.db").string()));
  auto kv = ok(store->bucket(bucket_named("inbox_drain")));
  constexpr int count = 2000;
  std::atomic<int> confirmed{0}, failed{0};
  for (int i = 0; i < count; ++i) {
    ok(kv->put_async("evt-" + std::to_string(i), "handled",
                     [&](const Result<std::uint64_t>& r) { ++(r ? confirmed : failed); }));
  }
  kv.reset();
  CHECK(confirmed == count);
  CHECK(failed == 0);
  auto reopened = ok(store->bucket(bucket_named("inbox_drain")));
  CHECK(ok(reopened->get("evt-" + std::to_string(count - 1))).has_value());
}

// Rows of `bucket` in the file, expired or not.
std::int64_t rows_in(const std::filesystem::path& file, const std::string& bucket) {
  namespace sqlite = fleet::sql::sqlite;
  auto db = sqlite::open_database(file.string());
  REQUIRE(db.has_value());
  auto stmt = sqlite::prepare(db->get(), "SELECT count(*) FROM fleet_kv_entries WHERE bucket = ?1");
  REQUIRE(stmt.has_value());
  sqlite::Query query(stmt->get());
  query.bind(1, bucket);
  REQUIRE(query.step("count rows").value_or(false));
  return query.int64(0);
}

TEST_CASE("state store: expired entries are deleted from the file, not only hidden") {
  TempDir dir;
  const auto file = dir.path() / "state.db";
  auto store = ok(state::open("sqlite:" + file.string()));
  // The TTL must outlast the 50 writes (several times slower under the sanitizers).
  const auto ttl = fleet::test::scaled(500ms);
  const auto config = bucket_named("inbox_sweep", ttl);
  {
    auto kv = ok(store->bucket(config));
    for (int i = 0; i < 50; ++i) ok(kv->put("evt-" + std::to_string(i), "handled"));
  }
  CHECK(rows_in(file, config.name) == 50);
  std::this_thread::sleep_for(ttl + 100ms);  // every entry expired
  // A bucket's writer thread sweeps when it starts and then every few seconds.
  auto kv = ok(store->bucket(config));
  const auto deadline = Clock::now() + 10s;
  while (rows_in(file, config.name) > 0 && Clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);
  }
  CHECK(rows_in(file, config.name) == 0);
}

// Rows of a bucket in PostgreSQL, expired or not.
struct PostgresRows {
  fleet::sql::postgres::Connection conn;
  explicit PostgresRows(const std::string& url) {
    auto connected = fleet::sql::postgres::connect(url);
    REQUIRE(connected.has_value());
    conn = std::move(*connected);
  }
  std::int64_t operator()(const std::string& bucket) const {
    auto result = fleet::sql::postgres::query(
        conn.get(), "count rows", "SELECT count(*) FROM fleet_kv_entries WHERE bucket = $1",
        {bucket}, fleet::sql::postgres::Rows::binary);
    REQUIRE(result.has_value());
    return fleet::sql::postgres::int8(result->get(), 0, 0);
  }
};

TEST_CASE("state store: expired entries are deleted from PostgreSQL too") {
  PostgresStateEnv env;
  auto transport = env.connect();
  // The TTL must outlast the 50 writes (several times slower under the sanitizers).
  const auto ttl = fleet::test::scaled(500ms);
  const auto config = bucket_named("inbox_pg_sweep", ttl);
  {
    auto kv = ok(transport->key_value(config));
    for (int i = 0; i < 50; ++i) ok(kv->put("evt-" + std::to_string(i), "handled"));
  }
  const PostgresRows count(PostgresStateEnv::server().url());
  CHECK(count(config.name) == 50);
  std::this_thread::sleep_for(ttl + 100ms);    // every entry expired
  auto kv = ok(transport->key_value(config));  // its writer thread sweeps when it starts
  const auto deadline = Clock::now() + 10s;
  while (count(config.name) > 0 && Clock::now() < deadline) std::this_thread::sleep_for(50ms);
  CHECK(count(config.name) == 0);
}

TEST_CASE("state store: urls name a SQLite file or a PostgreSQL server") {
  auto code = [](const std::string& url) {
    auto store = state::open(url);
    return store ? std::string("ok") : std::string(to_string(store.error().code));
  };
  CHECK(code("redis://localhost") == "invalid_argument");
  CHECK(code("sqlite:") == "invalid_argument");
  CHECK(code("/tmp/state.db") == "invalid_argument");
  TempDir dir;
  CHECK(code("sqlite:" + (dir.path() / "a.db").string()) == "ok");
  CHECK(code("sqlite://" + (dir.path() / "b.db").string()) == "ok");
  CHECK(std::filesystem::exists(dir.path() / "b.db"));
  CHECK(code("sqlite:" + (dir.path() / "missing-dir" / "c.db").string()) == "io");
  // Nothing listens on port 1.
  CHECK(code("postgresql://postgres@127.0.0.1:1/postgres?connect_timeout=2") == "unavailable");
  auto bad =
      ok(state::open("sqlite:" + (dir.path() / "a.db").string()))->bucket(bucket_named("bad name"));
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().code == Errc::invalid_argument);
}

}  // namespace
}  // namespace fleet::test::acceptance
