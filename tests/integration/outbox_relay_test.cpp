// The outbox relay on SQLite against a real nats-server: what consumers see after commits,
// rollbacks, a relay crash between publish and mark-sent, a broker outage and a poison row.
#include <doctest/doctest.h>

#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <thread>

#include "fleet/outbox/relay.hpp"
#include "fleet/outbox/sqlite.hpp"
#include "nats_server.hpp"
#include "outbox_support.hpp"
#include "process.hpp"
#include "worker_process.hpp"

namespace ob = fleet::outbox;
using fleet::test::counts_of;
using fleet::test::outbox_event;
using fleet::test::settles;
using fleet::test::stored_ids;
using namespace std::chrono_literals;

namespace {

fleet::test::NatsServer& server() {
  static fleet::test::NatsServer instance;
  return instance;
}

// An application database with an orders table and the outbox, plus the relay's own store.
struct App {
  std::filesystem::path dir = fleet::test::make_temp_dir("fleet-outbox-app");
  ob::sqlite::Database db;
  std::optional<ob::sqlite::Outbox> outbox;

  App() {
    auto opened = ob::sqlite::open_database(path());
    REQUIRE(opened.has_value());
    db = std::move(*opened);
    auto created = ob::sqlite::Outbox::open(db.get());
    REQUIRE(created.has_value());
    outbox.emplace(std::move(*created));
    exec("CREATE TABLE orders (id TEXT PRIMARY KEY)");
  }
  ~App() {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
  std::string path() const { return (dir / "app.db").string(); }
  std::string url() const { return "sqlite:" + path(); }
  void exec(const std::string& sql) {
    auto ok = fleet::sql::sqlite::exec(db.get(), sql.c_str());
    REQUIRE_MESSAGE(ok.has_value(), ok.error().describe());
  }
  // One business transaction: an order row and its event.
  std::string place_order(const std::string& domain, bool commit = true) {
    auto event = outbox_event(domain, "OrderPlaced");
    exec("BEGIN");
    exec("INSERT INTO orders VALUES ('" + event.meta.id + "')");
    REQUIRE(outbox->append(event).has_value());
    exec(commit ? "COMMIT" : "ROLLBACK");
    return event.meta.id;
  }
  // The most attempts any row has used up.
  int max_attempts() {
    auto stmt = fleet::sql::sqlite::prepare(db.get(),
                                            "SELECT coalesce(max(attempts), 0) FROM fleet_outbox");
    REQUIRE(stmt.has_value());
    fleet::sql::sqlite::Query query(stmt->get());
    REQUIRE(query.step("read attempts").value_or(false));
    return static_cast<int>(query.int64(0));
  }
  std::unique_ptr<ob::OutboxStore> store() {
    auto store = ob::open_store(url());
    REQUIRE(store.has_value());
    return std::move(*store);
  }
};

void make_stream(fleet::broker::Transport& transport, const std::string& name,
                 const std::string& domain) {
  REQUIRE(
      transport.ensure_stream({.name = name, .subjects = {"domain." + domain + ".>"}}).has_value());
}

std::set<std::string> as_set(const std::vector<std::string>& ids) {
  return {ids.begin(), ids.end()};
}

// Three nats-server nodes from scripts/cluster in a temp dir, taken down at the end.
struct Cluster {
  std::filesystem::path dir = fleet::test::make_temp_dir("fleet-outbox-cluster");
  std::string urls;

  Cluster() {
    auto up = run("up");
    REQUIRE_MESSAGE(up.exit_code == 0, up.err);
    urls = up.out.substr(0, up.out.find('\n'));
  }
  ~Cluster() {
    (void)run("down");
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
  fleet::test::RunResult run(const std::string& command, const std::string& node = {}) {
    std::vector<std::string> argv = {FLEET_CLUSTER_SCRIPT, "--dir", (dir / "nodes").string(),
                                     command};
    if (!node.empty()) argv.push_back(node);
    return fleet::test::run(argv);
  }
};

fleet::broker::StreamConfig replicated_stream(const std::string& name, const std::string& domain,
                                              int replicas) {
  fleet::broker::StreamConfig config;
  config.name = name;
  config.subjects = {"domain." + domain + ".>"};
  config.replicas = replicas;
  return config;
}

}  // namespace

TEST_CASE("a rolled-back transaction publishes nothing") {
  auto transport = fleet::test::connect_to(server().url());
  make_stream(*transport, "OUTBOX_ROLLBACK", "rollback");
  App app;
  app.place_order("rollback", /*commit=*/false);
  const auto committed = app.place_order("rollback");
  auto store = app.store();
  ob::Relay relay(*store, *transport);
  REQUIRE(relay.run_until_idle().has_value());
  CHECK(stored_ids(*transport, "OUTBOX_ROLLBACK") == std::vector<std::string>{committed});
  CHECK(counts_of(*store).pending == 0);
}

TEST_CASE("a committed transaction is published exactly once, with its envelope") {
  auto transport = fleet::test::connect_to(server().url());
  make_stream(*transport, "OUTBOX_ONCE", "once");
  App app;
  std::vector<std::string> ids;
  for (int i = 0; i < 250; ++i) ids.push_back(app.place_order("once"));
  auto store = app.store();
  ob::Relay relay(*store, *transport);
  REQUIRE(relay.run_until_idle().has_value());
  REQUIRE(relay.run_until_idle().has_value());          // a second pass finds nothing to send
  CHECK(stored_ids(*transport, "OUTBOX_ONCE") == ids);  // in commit order
  CHECK(relay.stats().published == 250);
  CHECK(relay.stats().duplicates == 0);
  auto counts = counts_of(*store);
  CHECK(counts.sent == 250);
  CHECK(counts.pending == 0);
}

TEST_CASE(
    "a relay killed between publish and mark-sent is restarted and consumers see each "
    "event once") {
  auto transport = fleet::test::connect_to(server().url());
  make_stream(*transport, "OUTBOX_CRASH", "crash");
  App app;
  std::vector<std::string> ids;
  for (int i = 0; i < 300; ++i) ids.push_back(app.place_order("crash"));
  // A short lease: the crashed relay's claims expire quickly for its successor.
  const std::vector<std::string> relay_args = {
      FLEET_CLI, "outbox", "relay", "--db", app.url(), "--nats", server().url(), "--lease", "1"};
  {
    auto args = relay_args;
    args.push_back("--die-before-mark-sent");
    fleet::test::WorkerProcess crashing(args, {}, app.dir / "crash.log");
    auto exit = crashing.wait(120s);
    REQUIRE_MESSAGE(exit.has_value(), (crashing.log() + crashing.describe()));
    CHECK(exit->signal == SIGKILL);
  }
  auto store = app.store();
  CHECK(counts_of(*store).sent == 0);  // published, but never marked
  CHECK_FALSE(stored_ids(*transport, "OUTBOX_CRASH").empty());

  fleet::test::WorkerProcess relay(relay_args, {}, app.dir / "relay.log");
  REQUIRE_MESSAGE(settles([&] { return counts_of(*store).sent == ids.size(); }),
                  (relay.log() + relay.describe()));
  relay.signal(SIGTERM);
  auto exit = relay.wait(60s);
  REQUIRE(exit.has_value());
  CHECK(exit->code == 0);
  CHECK(stored_ids(*transport, "OUTBOX_CRASH") == ids);
}

TEST_CASE("the relay catches up after the broker was down for 5 s and loses nothing") {
  fleet::test::NatsServer broker;  // its own server: stopping it must not disturb other tests
  auto transport = fleet::test::connect_to(broker.url());
  make_stream(*transport, "OUTBOX_OUTAGE", "outage");
  App app;
  std::vector<std::string> ids;
  for (int i = 0; i < 100; ++i) ids.push_back(app.place_order("outage"));
  // Stores are single-threaded: the relay's is its own, the test watches through another.
  auto store = app.store(), observer = app.store();
  ob::Relay relay(
      *store, *transport,
      {.publish_timeout = 2s,
       .outage_backoff = {.initial = 50ms, .max = 1s, .jitter = fleet::Backoff::Jitter::none}});
  std::thread running([&] { (void)relay.run(); });
  const bool before = settles([&] { return counts_of(*observer).sent == ids.size(); });

  broker.stop();
  for (int i = 0; i < 200; ++i) ids.push_back(app.place_order("outage"));
  std::this_thread::sleep_for(5s);
  broker.start();
  const bool caught_up = settles([&] { return counts_of(*observer).sent == ids.size(); });
  relay.stop();
  running.join();
  REQUIRE(before);
  MESSAGE("published " << relay.stats().published << ", failed " << relay.stats().failed
                       << ", duplicates " << relay.stats().duplicates);
  REQUIRE(caught_up);
  CHECK(counts_of(*observer).flagged == 0);
  CHECK(app.max_attempts() == 0);  // an unreachable broker is nobody's fault
  CHECK(as_set(stored_ids(*transport, "OUTBOX_OUTAGE")) == as_set(ids));
  CHECK(stored_ids(*transport, "OUTBOX_OUTAGE").size() == ids.size());
}

TEST_CASE("a poison row is flagged after 3 attempts while other events flow") {
  auto transport = fleet::test::connect_to(server().url());
  make_stream(*transport, "OUTBOX_POISON", "poison");
  App app;
  std::vector<std::string> good;
  for (int i = 0; i < 50; ++i) good.push_back(app.place_order("poison"));
  const auto poison = app.place_order("nostream");  // no stream listens on domain.nostream.>
  for (int i = 0; i < 50; ++i) good.push_back(app.place_order("poison"));
  auto store = app.store(), observer = app.store();
  ob::Relay relay(*store, *transport, {.retry_delay = 0ms});
  std::thread running([&] { (void)relay.run(); });
  const bool settled = settles([&] {
    auto counts = counts_of(*observer);
    return counts.pending == 0 && counts.flagged == 1;
  });
  relay.stop();
  running.join();
  REQUIRE(settled);
  CHECK(stored_ids(*transport, "OUTBOX_POISON") == good);
  auto flagged = store->flagged(10);
  REQUIRE(flagged->size() == 1);
  CHECK(flagged->front().event_id == poison);
  CHECK(flagged->front().attempts == 3);
  CHECK(relay.stats().flagged == 1);
}

TEST_CASE(
    "rows of a stream whose server is down wait without spending attempts while other "
    "streams' rows flow, and go out once it is back") {
  // In a cluster a stream without a leader (an election, or its only server down) answers its
  // publishes with "no responders", as a subject without a stream does; the rest of the cluster
  // answers. Here the stream has one replica and its server is killed.
  Cluster cluster;
  auto transport = fleet::test::connect_to(cluster.urls);
  REQUIRE(transport->ensure_stream(replicated_stream("OUTBOX_AWAY", "away", 1)).has_value());
  REQUIRE(transport->ensure_stream(replicated_stream("OUTBOX_UP", "up", 3)).has_value());
  std::string leader;
  const auto streams = transport->streams();
  REQUIRE(streams.has_value());
  for (const auto& stream : *streams) {
    if (stream.name == "OUTBOX_AWAY") leader = stream.leader;
  }
  REQUIRE_MESSAGE(!leader.empty(), "no leader reported for OUTBOX_AWAY");
  REQUIRE(cluster.run("kill", leader).exit_code == 0);

  App app;
  std::vector<std::string> away, up;
  for (int i = 0; i < 20; ++i) {
    away.push_back(app.place_order("away"));
    up.push_back(app.place_order("up"));
  }
  auto store = app.store(), observer = app.store();
  ob::Relay relay(
      *store, *transport,
      {.publish_timeout = 5s,
       .retry_delay = 100ms,
       .outage_backoff = {.initial = 50ms, .max = 500ms, .jitter = fleet::Backoff::Jitter::none}});
  std::thread running([&] { (void)relay.run(); });
  // Every row of the stream that is away tried at least three times: the default max attempts.
  const bool tried = settles([&] {
    return counts_of(*observer).sent == up.size() && relay.stats().failed >= 3 * away.size();
  });
  const auto while_away = counts_of(*observer);
  const int attempts_while_away = app.max_attempts();
  REQUIRE(cluster.run("start", leader).exit_code == 0);
  const bool caught_up =
      settles([&] { return counts_of(*observer).sent == away.size() + up.size(); });
  relay.stop();
  running.join();
  MESSAGE("published " << relay.stats().published << ", failed " << relay.stats().failed);
  REQUIRE(tried);
  CHECK(while_away.flagged == 0);
  CHECK(while_away.pending == away.size());
  CHECK(attempts_while_away == 0);  // a stream that does not answer is not the row's fault
  REQUIRE(caught_up);
  CHECK(relay.stats().flagged == 0);
  CHECK(as_set(stored_ids(*transport, "OUTBOX_AWAY")) == as_set(away));
  CHECK(stored_ids(*transport, "OUTBOX_UP") == up);
}

TEST_CASE("the relay deletes sent rows once they are older than the retention period") {
  auto transport = fleet::test::connect_to(server().url());
  make_stream(*transport, "OUTBOX_RETENTION", "retention");
  App app;
  app.place_order("retention");
  auto store = app.store();
  {
    ob::Relay keeping(*store, *transport);  // default retention: 24 h
    REQUIRE(keeping.run_until_idle().has_value());
    CHECK(counts_of(*store).sent == 1);
  }
  // A manual clock: it starts no earlier than the first row's sent time and only moves when told.
  ob::TimePoint now = ob::Clock::now();
  ob::Relay deleting(*store, *transport, {.retention = 0ms, .now = [&now] { return now; }});
  app.place_order("retention");  // pending: must survive the cleanup
  const auto sent_before = counts_of(*store);
  CHECK(sent_before.pending == 1);
  now += 5ms;  // the sent row's time is now strictly in the past
  REQUIRE(deleting.run_until_idle().has_value());
  CHECK(deleting.stats().deleted == 1);
  CHECK(counts_of(*store).sent == 1);  // the one sent by this pass, after the cleanup ran
}

TEST_CASE("fleet outbox relay with bad usage exits 2 with one line on stderr") {
  auto missing = fleet::test::run({FLEET_CLI, "outbox", "relay"});
  CHECK(missing.exit_code == 2);
  CHECK(std::count(missing.err.begin(), missing.err.end(), '\n') == 1);
  auto scheme = fleet::test::run({FLEET_CLI, "outbox", "relay", "--db", "mysql://x"});
  CHECK(scheme.exit_code == 2);
  CHECK(scheme.err.find("expected sqlite:PATH or postgres://") != std::string::npos);
}

TEST_CASE("fleet outbox requeue --json prints how many rows went back in the queue") {
  auto transport = fleet::test::connect_to(server().url());
  App app;
  app.place_order("norequeuestream");  // no stream captures it: flagged after 3 attempts
  {
    auto store = app.store();
    ob::Relay relay(*store, *transport, {.retry_delay = 0ms});
    for (int pass = 0; pass < 3; ++pass) REQUIRE(relay.run_until_idle().has_value());
  }
  REQUIRE(counts_of(*app.store()).flagged == 1);
  auto requeued =
      fleet::test::run({FLEET_CLI, "outbox", "requeue", "--all", "--db", app.url(), "--json"});
  REQUIRE_MESSAGE(requeued.exit_code == 0, requeued.err);
  CHECK(requeued.out == "{\"requeued\":1}\n");
  auto none =
      fleet::test::run({FLEET_CLI, "outbox", "requeue", "--all", "--db", app.url(), "--json"});
  CHECK(none.out == "{\"requeued\":0}\n");
}

TEST_CASE("fleet outbox status, flagged and requeue show and re-queue a flagged row") {
  auto transport = fleet::test::connect_to(server().url());
  make_stream(*transport, "OUTBOX_STATUS", "status");
  App app;
  app.place_order("status");
  const auto poison = app.place_order("nostatusstream");
  {
    auto store = app.store();
    ob::Relay relay(*store, *transport, {.retry_delay = 0ms});
    for (int pass = 0; pass < 3; ++pass) REQUIRE(relay.run_until_idle().has_value());
  }
  auto status = fleet::test::run({FLEET_CLI, "outbox", "status", "--json", "--db", app.url()});
  CHECK(status.exit_code == 0);
  CHECK(status.out == "{\"flagged\":1,\"pending\":0,\"sent\":1}\n");
  auto flagged = fleet::test::run({FLEET_CLI, "outbox", "flagged", "--db", app.url()});
  CHECK(flagged.exit_code == 0);
  CHECK(flagged.out.find(poison) != std::string::npos);
  auto requeued = fleet::test::run({FLEET_CLI, "outbox", "requeue", "--all", "--db", app.url()});
  CHECK(requeued.out == "requeued 1\n");
  CHECK(counts_of(*app.store()).pending == 1);
}
