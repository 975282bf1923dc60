// fleet::sql on a real PostgreSQL 15 (started by the fixture): parameters (text, bytes, NULL),
// text and binary rows, scripts, prepared statements, transactions, and the fleet error code of
// each kind of failure, including a lost connection and the reconnect after it. Skipped, loudly,
// when the server binaries are absent.
#include <doctest/doctest.h>

#include <iostream>
#include <string>

#include "fleet/sql/postgres.hpp"
#include "postgres_server.hpp"
#include "postgres_skip.hpp"

namespace pg = fleet::sql::postgres;
using fleet::Errc;

namespace {

fleet::test::PostgresServer& postgres() {
  static fleet::test::PostgresServer instance;
  return instance;
}

using fleet::test::skip_without_postgres;

pg::Connection connect() {
  auto conn = pg::connect(postgres().url());
  REQUIRE_MESSAGE(conn.has_value(), conn.error().describe());
  return std::move(*conn);
}

// A table of its own per test.
void fresh_table(PGconn* conn, const std::string& name, const std::string& columns) {
  const std::string sql =
      "DROP TABLE IF EXISTS " + name + "; CREATE TABLE " + name + " (" + columns + ")";
  auto ok = pg::script(conn, "create table", sql.c_str());
  REQUIRE_MESSAGE(ok.has_value(), ok.error().describe());
}

std::int64_t count(PGconn* conn, const std::string& table) {
  const std::string sql = "SELECT count(*) FROM " + table;
  auto rows = pg::query(conn, "count", sql.c_str(), {}, pg::Rows::binary);
  REQUIRE_MESSAGE(rows.has_value(), rows.error().describe());
  return pg::int8(rows->get(), 0, 0);
}

}  // namespace

TEST_CASE("postgres: an empty bytes parameter is an empty bytea, never NULL; NULL is NULL") {
  if (skip_without_postgres()) return;
  auto conn = connect();
  fresh_table(conn.get(), "sql_bytes", "id int PRIMARY KEY, v bytea");
  const std::string raw("a\0b\xff", 4);
  for (auto [id, param] :
       {std::pair{"1", pg::Param::bytes("")}, std::pair{"2", pg::Param::bytes(raw)},
        std::pair{"3", pg::Param(std::nullopt)}}) {
    auto ok =
        pg::query(conn.get(), "insert", "INSERT INTO sql_bytes VALUES ($1::int, $2)", {id, param});
    REQUIRE_MESSAGE(ok.has_value(), ok.error().describe());
  }
  auto rows =
      pg::query(conn.get(), "read", "SELECT v IS NULL, length(v), v FROM sql_bytes ORDER BY id");
  REQUIRE(rows.has_value());
  REQUIRE(PQntuples(rows->get()) == 3);
  CHECK(pg::bytes(rows->get(), 0, 0) == "f");
  CHECK(pg::bytes(rows->get(), 0, 1) == "0");
  CHECK(pg::bytes(rows->get(), 1, 0) == "f");
  CHECK(pg::bytes(rows->get(), 2, 0) == "t");
  auto binary =
      pg::query(conn.get(), "read", "SELECT v FROM sql_bytes WHERE id = 2", {}, pg::Rows::binary);
  REQUIRE(binary.has_value());
  CHECK(pg::bytes(binary->get(), 0, 0) == raw);
}

TEST_CASE("postgres: binary rows read as integers, text rows as psql prints them") {
  if (skip_without_postgres()) return;
  auto conn = connect();
  const char* sql = "SELECT $1::bigint, $2::int";
  auto binary = pg::query(conn.get(), "numbers", sql, {"-1234567890123", "-42"}, pg::Rows::binary);
  REQUIRE(binary.has_value());
  CHECK(pg::int8(binary->get(), 0, 0) == -1234567890123);
  CHECK(pg::int4(binary->get(), 0, 1) == -42);
  auto text = pg::query(conn.get(), "numbers", sql, {"-1234567890123", "-42"});
  REQUIRE(text.has_value());
  CHECK(pg::bytes(text->get(), 0, 0) == "-1234567890123");
  CHECK(pg::bytes(text->get(), 0, 1) == "-42");
}

TEST_CASE("postgres: a statement prepared twice on one connection runs, and counts its rows") {
  if (skip_without_postgres()) return;
  auto conn = connect();
  fresh_table(conn.get(), "sql_prepared", "n int");
  const char* insert = "INSERT INTO sql_prepared SELECT generate_series(1, $1::int)";
  REQUIRE(pg::prepare(conn.get(), "sql_test_insert", insert, 1).has_value());
  REQUIRE(pg::prepare(conn.get(), "sql_test_insert", insert, 1).has_value());
  auto inserted = pg::run_prepared(conn.get(), "insert", "sql_test_insert", {"3"});
  REQUIRE_MESSAGE(inserted.has_value(), inserted.error().describe());
  CHECK(pg::affected(inserted->get()) == 3);
  CHECK(count(conn.get(), "sql_prepared") == 3);
}

TEST_CASE("postgres: a transaction not committed is rolled back, a committed one stays") {
  if (skip_without_postgres()) return;
  auto conn = connect();
  fresh_table(conn.get(), "sql_tx", "n int");
  {
    pg::Transaction tx(conn.get());
    REQUIRE(tx.begin().has_value());
    REQUIRE(pg::query(conn.get(), "insert", "INSERT INTO sql_tx VALUES (1)").has_value());
  }
  CHECK(count(conn.get(), "sql_tx") == 0);
  {
    pg::Transaction tx(conn.get());
    REQUIRE(tx.begin().has_value());
    REQUIRE(pg::query(conn.get(), "insert", "INSERT INTO sql_tx VALUES (1)").has_value());
    REQUIRE(tx.commit().has_value());
  }
  CHECK(count(conn.get(), "sql_tx") == 1);
}

TEST_CASE("postgres: a broken constraint is invalid_argument, on one line naming the step") {
  if (skip_without_postgres()) return;
  auto conn = connect();
  fresh_table(conn.get(), "sql_unique", "k text PRIMARY KEY");
  const char* insert = "INSERT INTO sql_unique VALUES ($1)";
  REQUIRE(pg::query(conn.get(), "insert", insert, {"x"}).has_value());
  auto duplicate = pg::query(conn.get(), "insert x again", insert, {"x"});
  REQUIRE_FALSE(duplicate.has_value());
  CHECK(duplicate.error().code == Errc::invalid_argument);
  CHECK(duplicate.error().message.starts_with("insert x again: ERROR:  duplicate key value"));
  CHECK(duplicate.error().message.find('\n') == std::string::npos);
}

TEST_CASE("postgres: a serialization failure is conflict (retrying helps)") {
  if (skip_without_postgres()) return;
  auto first = connect();
  auto second = connect();
  fresh_table(first.get(), "sql_serial", "k int PRIMARY KEY, n int");
  REQUIRE(pg::query(first.get(), "seed", "INSERT INTO sql_serial VALUES (1, 0)").has_value());
  REQUIRE(pg::query(first.get(), "begin", "BEGIN ISOLATION LEVEL REPEATABLE READ").has_value());
  REQUIRE(pg::query(first.get(), "snapshot", "SELECT n FROM sql_serial").has_value());
  REQUIRE(pg::query(second.get(), "update", "UPDATE sql_serial SET n = 1 WHERE k = 1").has_value());
  auto lost = pg::query(first.get(), "update", "UPDATE sql_serial SET n = 2 WHERE k = 1");
  REQUIRE_FALSE(lost.has_value());
  CHECK(lost.error().code == Errc::conflict);
  CHECK(lost.error().retriable());
  (void)pg::query(first.get(), "rollback", "ROLLBACK");
}

TEST_CASE("postgres: a lost connection is unavailable until reconnect finds the server again") {
  if (skip_without_postgres()) return;
  auto conn = connect();
  REQUIRE(pg::query(conn.get(), "ping", "SELECT 1").has_value());
  postgres().stop();
  auto lost = pg::query(conn.get(), "ping", "SELECT 1");
  REQUIRE_FALSE(lost.has_value());
  CHECK(lost.error().code == Errc::unavailable);
  auto refused = pg::reconnect(conn.get());
  REQUIRE_FALSE(refused.has_value());
  CHECK(refused.error().code == Errc::unavailable);
  CHECK(refused.error().message.find('\n') == std::string::npos);
  postgres().start();
  auto back = pg::reconnect(conn.get());
  REQUIRE_MESSAGE(back.has_value(), back.error().describe());
  CHECK(pg::query(conn.get(), "ping", "SELECT 1").has_value());
}
