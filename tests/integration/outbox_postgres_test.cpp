// The outbox relay on a real PostgreSQL 15 (started by the fixture) against a real nats-server:
// commit / rollback, two relays sharing one outbox, a transaction that commits late holding a
// lower id, and NOTIFY waking an idle relay. Skipped, loudly, when the server binaries are absent.
#include <doctest/doctest.h>

#include <iostream>
#include <set>
#include <thread>

#include "fleet/outbox/postgres.hpp"
#include "fleet/outbox/relay.hpp"
#include "nats_server.hpp"
#include "outbox_support.hpp"
#include "postgres_server.hpp"
#include "postgres_skip.hpp"

namespace ob = fleet::outbox;
namespace pg = fleet::outbox::postgres;
using fleet::test::counts_of;
using fleet::test::outbox_event;
using fleet::test::settles;
using fleet::test::stored_ids;
using namespace std::chrono_literals;

namespace {

fleet::test::NatsServer& nats() {
  static fleet::test::NatsServer instance;
  return instance;
}

fleet::test::PostgresServer& postgres() {
  static fleet::test::PostgresServer instance;
  return instance;
}

using fleet::test::skip_without_postgres;

// A database of its own per test, so counts are exact.
std::string fresh_database(const std::string& name) {
  auto admin = pg::connect(postgres().url());
  REQUIRE(admin.has_value());
  for (auto* statement : {"DROP DATABASE IF EXISTS ", "CREATE DATABASE "}) {
    auto ok = fleet::sql::postgres::script(admin->get(), statement, (statement + name).c_str());
    REQUIRE_MESSAGE(ok.has_value(), ok.error().describe());
  }
  auto url = postgres().url();
  return url.substr(0, url.rfind('/') + 1) + name;
}

void exec(PGconn* conn, const std::string& sql) {
  auto ok = fleet::sql::postgres::script(conn, sql, sql.c_str());
  REQUIRE_MESSAGE(ok.has_value(), ok.error().describe());
}

// An application connection with its outbox and an orders table.
struct App {
  pg::Connection conn;
  std::optional<pg::Outbox> outbox;

  explicit App(const std::string& url) {
    auto connected = pg::connect(url);
    REQUIRE(connected.has_value());
    conn = std::move(*connected);
    auto opened = pg::Outbox::open(conn.get());
    REQUIRE(opened.has_value());
    outbox.emplace(*opened);
    exec(conn.get(), "CREATE TABLE IF NOT EXISTS orders (id text PRIMARY KEY)");
  }
  std::string place_order(const std::string& domain, bool commit = true) {
    auto event = outbox_event(domain, "OrderPlaced");
    exec(conn.get(), "BEGIN");
    exec(conn.get(), "INSERT INTO orders VALUES ('" + event.meta.id + "')");
    REQUIRE(outbox->append(event).has_value());
    exec(conn.get(), commit ? "COMMIT" : "ROLLBACK");
    return event.meta.id;
  }
};

std::unique_ptr<ob::OutboxStore> store_at(const std::string& url) {
  auto store = ob::open_store(url);
  REQUIRE(store.has_value());
  return std::move(*store);
}

void make_stream(fleet::broker::Transport& transport, const std::string& name,
                 const std::string& domain) {
  REQUIRE(
      transport.ensure_stream({.name = name, .subjects = {"domain." + domain + ".>"}}).has_value());
}

}  // namespace

TEST_CASE("postgres: a committed transaction is published exactly once, a rolled-back one never") {
  if (skip_without_postgres()) return;
  const auto url = fresh_database("commit_once");
  auto transport = fleet::test::connect_to(nats().url());
  make_stream(*transport, "PG_ONCE", "pgonce");
  App app(url);
  app.place_order("pgonce", /*commit=*/false);
  std::vector<std::string> ids;
  for (int i = 0; i < 250; ++i) ids.push_back(app.place_order("pgonce"));
  auto store = store_at(url);
  ob::Relay relay(*store, *transport);
  REQUIRE(relay.run_until_idle().has_value());
  REQUIRE(relay.run_until_idle().has_value());
  CHECK(stored_ids(*transport, "PG_ONCE") == ids);
  CHECK(relay.stats().duplicates == 0);
  CHECK(counts_of(*store).sent == 250);
  CHECK(counts_of(*store).pending == 0);
}

TEST_CASE("postgres: two relays on one outbox lose no event and publish none twice") {
  if (skip_without_postgres()) return;
  const auto url = fresh_database("two_relays");
  auto admin = fleet::test::connect_to(nats().url());
  make_stream(*admin, "PG_TWO", "pgtwo");
  App app(url);
  std::vector<std::string> ids;
  for (int i = 0; i < 1'000; ++i) ids.push_back(app.place_order("pgtwo"));

  auto store_a = store_at(url), store_b = store_at(url);
  auto nats_a = fleet::test::connect_to(nats().url()),
       nats_b = fleet::test::connect_to(nats().url());
  ob::RelayConfig config{.batch_size = 20};
  ob::Relay relay_a(*store_a, *nats_a, config), relay_b(*store_b, *nats_b, config);
  std::thread a([&] { (void)relay_a.run(); });
  std::thread b([&] { (void)relay_b.run(); });
  for (int i = 0; i < 1'000; ++i) ids.push_back(app.place_order("pgtwo"));  // while they run
  auto store = store_at(url);
  const bool done = settles([&] { return counts_of(*store).sent == ids.size(); });
  relay_a.stop();
  relay_b.stop();
  a.join();
  b.join();
  REQUIRE(done);
  const auto stats_a = relay_a.stats(), stats_b = relay_b.stats();
  MESSAGE("relay a published " << stats_a.published << ", relay b " << stats_b.published);
  CHECK(stats_a.published > 0);
  CHECK(stats_b.published > 0);
  CHECK(stats_a.published + stats_b.published == ids.size());  // no row published twice
  CHECK(stats_a.duplicates + stats_b.duplicates == 0);
  const auto stored = stored_ids(*admin, "PG_TWO");
  CHECK(stored.size() == ids.size());
  CHECK(std::set<std::string>(stored.begin(), stored.end()) ==
        std::set<std::string>(ids.begin(), ids.end()));
}

TEST_CASE("postgres: a transaction that commits late with a lower id is still relayed") {
  if (skip_without_postgres()) return;
  const auto url = fresh_database("late_commit");
  auto transport = fleet::test::connect_to(nats().url());
  make_stream(*transport, "PG_LATE", "pglate");
  App slow(url), quick(url);

  // The slow transaction takes its id first and holds it uncommitted.
  auto late = outbox_event("pglate", "OrderPlaced");
  exec(slow.conn.get(), "BEGIN");
  REQUIRE(slow.outbox->append(late).has_value());
  const auto early = quick.place_order("pglate");

  // Stores are single-threaded: the relay's is its own, the test watches through another.
  auto store = store_at(url), observer = store_at(url);
  // Polling practically off: only NOTIFY at commit can wake the relay once it is idle.
  ob::Relay relay(*store, *transport, {.poll_interval = 3'600s});
  std::thread running([&] { (void)relay.run(); });
  const bool first = settles([&] { return counts_of(*observer).sent == 1; });
  exec(slow.conn.get(), "COMMIT");
  const bool second = settles([&] { return counts_of(*observer).sent == 2; });
  relay.stop();
  running.join();
  REQUIRE(first);
  REQUIRE(second);
  CHECK(stored_ids(*transport, "PG_LATE") == std::vector<std::string>{early, late.meta.id});
}
