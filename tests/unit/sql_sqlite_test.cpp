// fleet::sql on SQLite, without a broker: the open policy (WAL, also when several connections
// open a new file at once), the blob rule, statements that reset themselves, transactions that
// roll back, the fleet error code of each kind of failure, and the order_summary projection's
// group commit.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "fleet/schemas/codec.hpp"
#include "fleet/sql/sqlite.hpp"
#include "order_fulfilment/order_summary.hpp"
#include "order_fulfilment/orders.hpp"

namespace sqlite = fleet::sql::sqlite;
using fleet::Errc;

namespace {

struct TempDir {
  std::filesystem::path dir;
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "fleet-sql-XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    dir = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
  std::string file(const std::string& name) const { return (dir / name).string(); }
};

sqlite::Database open(const std::string& path) {
  auto db = sqlite::open_database(path);
  REQUIRE_MESSAGE(db.has_value(), db.error().describe());
  return std::move(*db);
}

sqlite::Statement prepare(sqlite3* db, const char* sql) {
  auto stmt = sqlite::prepare(db, sql);
  REQUIRE_MESSAGE(stmt.has_value(), stmt.error().describe());
  return std::move(*stmt);
}

std::string journal_mode(sqlite3* db) {
  auto stmt = prepare(db, "PRAGMA journal_mode");
  sqlite::Query query(stmt.get());
  REQUIRE(query.step("journal mode").value());
  return query.bytes(0);
}

std::int64_t count_rows(sqlite3* db) {
  auto stmt = prepare(db, "SELECT count(*) FROM t");
  sqlite::Query query(stmt.get());
  REQUIRE(query.step("count").value());
  return query.int64(0);
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

}  // namespace

TEST_CASE("sqlite: a new database file opens in WAL mode") {
  TempDir tmp;
  auto db = open(tmp.file("new.db"));
  CHECK(journal_mode(db.get()) == "wal");
}

TEST_CASE("sqlite: connections opening one new file at the same time all get it in WAL mode") {
  // Switching a new file to WAL from several connections at once can deadlock in SQLite, which
  // then fails one of them at once with SQLITE_BUSY; open_database retries the switch.
  TempDir tmp;
  const std::string path = tmp.file("shared.db");
  constexpr int openers = 8;
  std::vector<fleet::Result<sqlite::Database>> opened(openers);
  std::vector<std::thread> threads;
  for (int i = 0; i < openers; ++i) {
    threads.emplace_back([&, i] { opened[i] = sqlite::open_database(path); });
  }
  for (auto& t : threads) t.join();
  for (auto& db : opened) {
    REQUIRE_MESSAGE(db.has_value(), db.error().describe());
    CHECK(journal_mode(db->get()) == "wal");
  }
}

TEST_CASE("sqlite: an empty blob is stored as an empty value, never as NULL") {
  TempDir tmp;
  auto db = open(tmp.file("blob.db"));
  REQUIRE(sqlite::exec(db.get(), "CREATE TABLE t (v BLOB NOT NULL)").has_value());
  auto insert = prepare(db.get(), "INSERT INTO t (v) VALUES (?1)");
  {
    sqlite::Query query(insert.get());
    auto ok = query.bind_blob(1, std::string_view()).run("insert an empty blob");
    REQUIRE_MESSAGE(ok.has_value(), ok.error().describe());
  }
  {
    sqlite::Query query(insert.get());
    REQUIRE(query.bind_blob(1, std::string("a\0b\xff", 4)).run("insert bytes").has_value());
  }
  auto select = prepare(db.get(), "SELECT typeof(v), v FROM t ORDER BY rowid");
  sqlite::Query query(select.get());
  REQUIRE(query.step("read").value());
  CHECK(query.bytes(0) == "blob");
  CHECK(query.bytes(1).empty());
  REQUIRE(query.step("read").value());
  CHECK(query.bytes(1) == std::string("a\0b\xff", 4));
  CHECK_FALSE(query.step("read").value());
}

TEST_CASE("sqlite: a statement is reset after each use, bindings and all") {
  TempDir tmp;
  auto db = open(tmp.file("reuse.db"));
  REQUIRE(sqlite::exec(db.get(),
                       "CREATE TABLE t (k TEXT PRIMARY KEY, n INTEGER);"
                       "INSERT INTO t VALUES ('a', 1), ('b', 2)")
              .has_value());
  auto select = prepare(db.get(), "SELECT n FROM t WHERE k = ?1 OR ?1 IS NULL ORDER BY k");
  {
    sqlite::Query query(select.get());
    query.bind(1, std::string_view("b"));
    REQUIRE(query.step("first use").value());
    CHECK(query.int64(0) == 2);
  }                                   // left before reading to the end
  sqlite::Query again(select.get());  // no binding: ?1 is NULL again, every row matches
  REQUIRE(again.step("second use").value());
  CHECK(again.int64(0) == 1);
  REQUIRE(again.step("second use").value());
  CHECK(again.int64(0) == 2);
}

TEST_CASE("sqlite: a transaction not committed is rolled back, a committed one stays") {
  TempDir tmp;
  auto db = open(tmp.file("tx.db"));
  REQUIRE(sqlite::exec(db.get(), "CREATE TABLE t (n INTEGER)").has_value());
  {
    sqlite::Transaction tx(db.get());
    REQUIRE(tx.begin().has_value());
    REQUIRE(sqlite::exec(db.get(), "INSERT INTO t VALUES (1)").has_value());
  }
  CHECK(count_rows(db.get()) == 0);
  {
    sqlite::Transaction tx(db.get());
    REQUIRE(tx.begin().has_value());
    REQUIRE(sqlite::exec(db.get(), "INSERT INTO t VALUES (1)").has_value());
    REQUIRE(tx.commit().has_value());
  }
  CHECK(count_rows(db.get()) == 1);
}

TEST_CASE("sqlite: a broken constraint is invalid_argument, naming the step") {
  TempDir tmp;
  auto db = open(tmp.file("constraint.db"));
  REQUIRE(sqlite::exec(db.get(), "CREATE TABLE t (k TEXT PRIMARY KEY)").has_value());
  auto insert = prepare(db.get(), "INSERT INTO t VALUES (?1)");
  {
    sqlite::Query query(insert.get());
    REQUIRE(query.bind(1, std::string_view("x")).run("insert").has_value());
  }
  sqlite::Query query(insert.get());
  auto duplicate = query.bind(1, std::string_view("x")).run("insert x again");
  REQUIRE_FALSE(duplicate.has_value());
  CHECK(duplicate.error().code == Errc::invalid_argument);
  CHECK(duplicate.error().message.starts_with("insert x again: UNIQUE constraint failed"));
  CHECK_FALSE(duplicate.error().retriable());
}

TEST_CASE("sqlite: a file that is not a database is an io error, not 'unavailable'") {
  TempDir tmp;
  const std::string path = tmp.file("garbage.db");
  write_file(path, std::string(4096, 'x'));
  auto db = sqlite::open_database(path);
  REQUIRE_FALSE(db.has_value());
  CHECK(db.error().code == Errc::io);
  CHECK(db.error().message.find(path) != std::string::npos);
  CHECK_FALSE(db.error().retriable());
}

TEST_CASE("sqlite: busy and locked are unavailable (retry later); misuse is internal") {
  CHECK(sqlite::code_of(SQLITE_BUSY) == Errc::unavailable);
  CHECK(sqlite::code_of(SQLITE_BUSY_SNAPSHOT) == Errc::unavailable);  // extended codes too
  CHECK(sqlite::code_of(SQLITE_LOCKED) == Errc::unavailable);
  CHECK(sqlite::code_of(SQLITE_MISUSE) == Errc::internal);
  CHECK(sqlite::code_of(SQLITE_FULL) == Errc::io);
  CHECK(sqlite::code_of(SQLITE_CONSTRAINT_NOTNULL) == Errc::invalid_argument);
}

TEST_CASE("projection: a read-model file that is not a database is an io error") {
  // The projection used to report every SQLite failure as `unavailable`, which tells a worker to
  // retry what never succeeds.
  TempDir tmp;
  const std::string path = tmp.file("order_summary.db");
  write_file(path, std::string(4096, 'x'));
  auto summary = fleet::projection::OrderSummary::open(path);
  REQUIRE_FALSE(summary.has_value());
  CHECK(summary.error().code == Errc::io);
}

namespace {

fleet::schemas::SagaLifecycle lifecycle(const std::string& order_id, std::uint64_t version) {
  fleet::schemas::OrderPlaced order;
  order.order_id = order_id;
  order.customer_id = "c1";
  order.sku = "sku-1";
  order.quantity = 1;
  order.amount_cents = 100;
  order.region = "eu";
  const std::string body = fleet::schemas::encode(order);
  fleet::schemas::SagaLifecycle event;
  event.saga_id = order_id;
  event.saga = "order_fulfilment";
  event.kind = "step.completed";
  event.status = "running";
  event.step_name = "step-" + std::to_string(version);
  event.version = version;
  event.started_at = "2026-12-02T10:00:00Z";
  event.data.assign(body.begin(), body.end());
  return event;
}

}  // namespace

TEST_CASE(
    "projection: events applied from many threads at once all land, each call answering for its "
    "own row; a row the database refuses fails alone") {
  TempDir tmp;
  const std::string path = tmp.file("order_summary.db");
  auto opened = fleet::projection::OrderSummary::open(path);
  REQUIRE_MESSAGE(opened.has_value(), opened.error().describe());
  auto& summary = *opened;
  {
    // Another connection makes the database refuse every row of order "refused".
    auto db = open(path);
    REQUIRE(
        sqlite::exec(db.get(),
                     "CREATE TRIGGER refuse BEFORE INSERT ON order_summary "
                     "WHEN NEW.order_id = 'refused' BEGIN SELECT RAISE(ABORT, 'refused'); END"));
  }
  // 8 threads apply versions 1..20 of 40 orders, most events more than once, in different orders.
  constexpr int threads = 8, orders = 40, versions = 20;
  struct Answer {
    std::string order;
    std::uint64_t version;
    fleet::Result<bool> applied;
  };
  std::vector<std::vector<Answer>> answers(threads);
  std::vector<std::thread> running;
  for (int t = 0; t < threads; ++t) {
    running.emplace_back([&, t] {
      for (int i = 0; i < orders * versions / 4; ++i) {
        const int n = (i * 7 + t * 13) % (orders * versions);
        const std::string order = n % orders == 0 ? "refused" : "o" + std::to_string(n % orders);
        const std::uint64_t version = static_cast<std::uint64_t>(n / orders + 1);
        auto event = lifecycle(order, version);
        answers[t].push_back({order, version, summary.apply(event, "2026-12-02T10:00:01Z")});
      }
    });
  }
  for (auto& thread : running) thread.join();

  std::map<std::string, std::uint64_t> newest;
  std::map<std::pair<std::string, std::uint64_t>, int> applied_true, calls;
  for (const auto& per_thread : answers) {
    for (const auto& a : per_thread) {
      if (a.order == "refused") {
        CHECK_FALSE(a.applied.has_value());
        continue;
      }
      REQUIRE_MESSAGE(a.applied.has_value(), a.applied.error().describe());
      newest[a.order] = std::max(newest[a.order], a.version);
      ++calls[{a.order, a.version}];
      if (*a.applied) ++applied_true[{a.order, a.version}];
    }
  }
  for (const auto& [key, count] : calls) {
    // Two copies of one event: at most one changed the row.
    CHECK(applied_true[key] <= 1);
    // The newest version of an order always changes its row.
    if (key.second == newest[key.first]) CHECK(applied_true[key] == 1);
  }
  auto rows = summary.query({});
  REQUIRE(rows.has_value());
  CHECK(rows->size() == newest.size());
  for (const auto& row : *rows) {
    CHECK(row.order_id != "refused");
    CHECK(row.version == newest[row.order_id]);
    CHECK(row.step == "step-" + std::to_string(row.version));
  }
}
