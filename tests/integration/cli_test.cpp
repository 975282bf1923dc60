// `fleet publish` and `fleet streams` as a user runs them: a real process against a real
// nats-server, checked through what lands on the broker.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <filesystem>

#include "fleet/broker/jetstream.hpp"
#include "fleet/outbox/sqlite.hpp"
#include "fleet/schemas/codec.hpp"
#include "fleet/schemas/envelope.hpp"
#include "nats_server.hpp"
#include "order_fulfilment/orders.hpp"
#include "process.hpp"

namespace {

using fleet::test::run;

fleet::test::NatsServer& server() {
  static fleet::test::NatsServer instance;
  return instance;
}

std::unique_ptr<fleet::broker::Transport> connect() {
  auto transport = fleet::broker::jetstream::connect({.url = server().url()});
  REQUIRE(transport.has_value());
  return std::move(*transport);
}

// A stream of its own per test so counts are exact.
void make_stream(fleet::broker::Transport& transport, const std::string& name,
                 const std::string& subjects) {
  REQUIRE(transport.ensure_stream({.name = name, .subjects = {subjects}}).has_value());
}

std::uint64_t stored(fleet::broker::Transport& transport, const std::string& name) {
  auto streams = transport.streams();
  REQUIRE(streams.has_value());
  for (const auto& s : *streams) {
    if (s.name == name) return s.messages;
  }
  FAIL("stream " << name << " not listed");
  return 0;
}

int lines(const std::string& text) {
  return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
}

const std::string order_json =
    R"({"order_id":"o-1","customer_id":"c-1","sku":"sku-1","quantity":2,"amount_cents":1500,"region":"south"})";

}  // namespace

TEST_CASE("fleet publish --data stores one enveloped event the broker acked") {
  auto transport = connect();
  make_stream(*transport, "CLI_DATA", "cli.data.>");
  auto result = run({FLEET_CLI, "publish", "--nats", server().url(), "--subject", "cli.data.x",
                     "--type", "orders.OrderPlaced", "--key", "o-1", "--data", order_json});
  CHECK(result.exit_code == 0);
  CHECK(result.out.find("published 1, acked 1, failed 0") != std::string::npos);

  fleet::broker::ConsumerConfig consumer{
      .stream = "CLI_DATA", .durable = "reader", .filter_subject = "cli.data.>"};
  REQUIRE(transport->ensure_consumer(consumer).has_value());
  auto subscription = transport->subscribe(consumer);
  REQUIRE(subscription.has_value());
  auto batch = (*subscription)->fetch(10, std::chrono::seconds(2));
  REQUIRE(batch.has_value());
  REQUIRE(batch->size() == 1);
  const auto& message = batch->front().message();
  auto meta = fleet::schemas::metadata_from_headers(message.headers);
  REQUIRE(meta.has_value());
  CHECK(meta->type == "orders.OrderPlaced");
  CHECK(meta->ordering_key == "o-1");
  CHECK(message.dedup_id == meta->id);
  auto order = fleet::schemas::decode<fleet::schemas::OrderPlaced>(message.body);
  REQUIRE(order.has_value());
  CHECK(order->sku == "sku-1");
  CHECK(order->amount_cents == 1500);
}

TEST_CASE("fleet publish reads one JSON per stdin line and repeats it --count times") {
  auto transport = connect();
  make_stream(*transport, "CLI_STDIN", "cli.stdin.>");
  auto result =
      run({FLEET_CLI, "publish", "--subject", "cli.stdin.x", "--type", "demo.Note", "--count", "2"},
          "{\"n\":1}\n\n{\"n\":2}\n{\"n\":3}\n", {"FLEET_NATS_URL=" + server().url()});
  CHECK(result.exit_code == 0);
  CHECK(result.out.find("published 6, acked 6, failed 0") != std::string::npos);
  CHECK(stored(*transport, "CLI_STDIN") == 6);
}

TEST_CASE("fleet publish rejects bad input with one line, exit 2, and publishes nothing") {
  auto transport = connect();
  make_stream(*transport, "CLI_BAD", "cli.bad.>");
  const std::string url = server().url();

  SUBCASE("invalid JSON on one line of several") {
    auto result = run({FLEET_CLI, "publish", "--nats", url, "-s", "cli.bad.x", "-t", "demo.Note"},
                      "{\"n\":1}\n{\"n\":\n");
    CHECK(result.exit_code == 2);
    CHECK(result.err.find("stdin:2: invalid JSON") != std::string::npos);
    CHECK(lines(result.err) == 1);
  }
  SUBCASE("a known type with a missing field") {
    auto result = run({FLEET_DEMO, "publish", "--nats", url, "-s", "cli.bad.x", "-t",
                       "orders.OrderPlaced", "--data", R"({"order_id":"o-1"})"});
    CHECK(result.exit_code == 2);
    CHECK(result.err.find("missing required field") != std::string::npos);
    CHECK(lines(result.err) == 1);
  }
  SUBCASE("an unknown flag") {
    auto result = run({FLEET_CLI, "publish", "--nats", url, "-s", "cli.bad.x", "-t", "demo.Note",
                       "--bogus", "1", "--data", "{}"});
    CHECK(result.exit_code == 2);
    CHECK(lines(result.err) == 1);
  }
  SUBCASE("a subject no message can carry: a wildcard, an empty token, a space") {
    for (const char* subject : {"cli.bad.*", "cli.bad.>", "cli..bad", "cli.bad.", "cli.bad x"}) {
      CAPTURE(subject);
      auto result = run(
          {FLEET_CLI, "publish", "--nats", url, "-s", subject, "-t", "demo.Note", "--data", "{}"});
      CHECK(result.exit_code == 2);
      CHECK(result.err.find("subject") != std::string::npos);
      CHECK(lines(result.err) == 1);
    }
  }
  CHECK(stored(*transport, "CLI_BAD") == 0);
}

TEST_CASE("fleet publish reports an unreachable server and a subject no stream captures") {
  SUBCASE("unreachable server") {
    const auto port = std::to_string(fleet::test::free_port());
    auto result = run({FLEET_CLI, "publish", "--nats", "nats://127.0.0.1:" + port, "-s", "x", "-t",
                       "demo.Note", "--data", "{}"});
    CHECK(result.exit_code == 1);
    CHECK(result.err.find("cannot connect") != std::string::npos);
    CHECK(lines(result.err) == 1);
  }
  SUBCASE("no stream for the subject") {
    auto result = run({FLEET_CLI, "publish", "--nats", server().url(), "-s", "nowhere.at.all", "-t",
                       "demo.Note", "--data", "{}"});
    CHECK(result.exit_code == 1);
    CHECK(result.err.find("no stream captures subject nowhere.at.all") != std::string::npos);
    CHECK(result.err.find("fleet streams add NOWHERE --subjects 'nowhere.>'") != std::string::npos);
    CHECK(lines(result.err) == 1);
  }
}

TEST_CASE("on a fresh broker: publish names the fix, fleet streams add applies it, publish works") {
  // A server of its own: nothing the other tests or a demo created.
  fleet::test::NatsServer fresh;
  const std::string url = fresh.url();
  const std::vector<std::string> publish = {
      FLEET_CLI,   "publish",       "--nats", url,
      "--subject", "orders.placed", "--type", "orders.OrderPlaced",
      "--data",    order_json};

  auto refused = run(publish);
  CHECK(refused.exit_code == 1);
  CHECK(lines(refused.err) == 1);
  const std::string fix = "fleet streams add ORDERS --subjects 'orders.>'";
  REQUIRE_MESSAGE(refused.err.find(fix) != std::string::npos, refused.err);

  // The printed command, run as printed (plus the server).
  auto added =
      run({FLEET_CLI, "streams", "add", "ORDERS", "--subjects", "orders.>", "--nats", url});
  REQUIRE_MESSAGE(added.exit_code == 0, added.err);
  CHECK(added.out.find("created stream ORDERS") != std::string::npos);

  auto published = run(publish);
  CHECK_MESSAGE(published.exit_code == 0, published.err);
  CHECK(published.out.find("published 1, acked 1, failed 0") != std::string::npos);

  auto transport = fleet::broker::jetstream::connect({.url = url});
  REQUIRE(transport.has_value());
  CHECK(stored(**transport, "ORDERS") == 1);

  SUBCASE("adding the same stream again changes nothing; other subjects are refused") {
    auto again =
        run({FLEET_CLI, "streams", "add", "ORDERS", "--subjects", "orders.>", "--nats", url});
    CHECK(again.exit_code == 0);
    CHECK(again.out.find("exists") != std::string::npos);
    auto clash =
        run({FLEET_CLI, "streams", "add", "ORDERS", "--subjects", "other.>", "--nats", url});
    CHECK(clash.exit_code == 1);
    CHECK(lines(clash.err) == 1);
    CHECK(clash.err.find("exists with subjects orders.>") != std::string::npos);
    CHECK(stored(**transport, "ORDERS") == 1);
  }
  SUBCASE("rm needs --yes off a terminal, then removes the stream") {
    auto unconfirmed = run({FLEET_CLI, "streams", "rm", "ORDERS", "--nats", url});
    CHECK(unconfirmed.exit_code == 2);
    CHECK(unconfirmed.err.find("without --yes") != std::string::npos);
    CHECK(stored(**transport, "ORDERS") == 1);
    auto removed = run({FLEET_CLI, "streams", "rm", "ORDERS", "--yes", "--nats", url});
    CHECK_MESSAGE(removed.exit_code == 0, removed.err);
    CHECK(removed.out.find("removed stream ORDERS (1 messages)") != std::string::npos);
    auto gone = run({FLEET_CLI, "streams", "rm", "ORDERS", "--yes", "--nats", url});
    CHECK(gone.exit_code == 1);
    CHECK(gone.err.find("no stream ORDERS") != std::string::npos);
    CHECK(run(publish).exit_code == 1);  // back to "no stream captures"
  }
}

TEST_CASE("fleet publish --create-stream makes the stream the error message would suggest") {
  auto result = run({FLEET_CLI, "publish", "--nats", server().url(), "-s", "autocreated.x.y", "-t",
                     "demo.Note", "--data", "{}", "--create-stream"});
  CHECK_MESSAGE(result.exit_code == 0, result.err);
  CHECK(result.out.find("created stream AUTOCREATED (subjects autocreated.>)") !=
        std::string::npos);
  auto transport = connect();
  CHECK(stored(*transport, "AUTOCREATED") == 1);
  auto second = run({FLEET_CLI, "publish", "--nats", server().url(), "-s", "autocreated.z", "-t",
                     "demo.Note", "--data", "{}", "--create-stream"});
  CHECK(second.exit_code == 0);
  CHECK(second.out.find("created stream") == std::string::npos);
  CHECK(stored(*transport, "AUTOCREATED") == 2);
}

TEST_CASE("fleet streams add takes --max-age and --replicas and rejects bad values with exit 2") {
  auto ok = run({FLEET_CLI, "streams", "add", "CLI_AGED", "--subjects", "cli.aged.>,cli.aged2.>",
                 "--max-age", "1h30m", "--replicas", "1", "--nats", server().url()});
  CHECK_MESSAGE(ok.exit_code == 0, ok.err);
  auto listed = run({FLEET_CLI, "streams", "--json", "--nats", server().url()});
  auto all = nlohmann::json::parse(listed.out);
  auto stream =
      std::find_if(all.begin(), all.end(), [](const auto& s) { return s["name"] == "CLI_AGED"; });
  REQUIRE(stream != all.end());
  CHECK((*stream)["subjects"].size() == 2);

  auto bad_age = run({FLEET_CLI, "streams", "add", "CLI_BAD_AGE", "--subjects", "cli.badage.>",
                      "--max-age", "7 days", "--nats", server().url()});
  CHECK(bad_age.exit_code == 2);
  CHECK(lines(bad_age.err) == 1);
  CHECK(bad_age.err.find("--max-age") != std::string::npos);
  auto no_subjects = run({FLEET_CLI, "streams", "add", "CLI_NONE", "--nats", server().url()});
  CHECK(no_subjects.exit_code == 2);
}

TEST_CASE("fleet publish --json prints one object with the counts and the stream it created") {
  auto result = run({FLEET_CLI, "publish", "--nats", server().url(), "-s", "clijson.x", "-t",
                     "demo.Note", "--data", "{}", "--count", "3", "--create-stream", "--json"});
  REQUIRE_MESSAGE(result.exit_code == 0, result.err);
  CHECK(lines(result.out) == 1);
  const auto summary = nlohmann::json::parse(result.out);
  CHECK(summary["published"] == 3);
  CHECK(summary["acked"] == 3);
  CHECK(summary["failed"] == 0);
  CHECK(summary["per_second"].is_number_unsigned());
  CHECK(summary["created_stream"] == "CLIJSON");
  auto again = run({FLEET_CLI, "publish", "--nats", server().url(), "-s", "clijson.x", "-t",
                    "demo.Note", "--data", "{}", "--json"});
  REQUIRE_MESSAGE(again.exit_code == 0, again.err);
  CHECK_FALSE(nlohmann::json::parse(again.out).contains("created_stream"));
}

TEST_CASE("fleet streams add and rm --json say what they did") {
  auto added = run({FLEET_CLI, "streams", "add", "CLI_JSON_RM", "--subjects", "cli.jsonrm.>",
                    "--nats", server().url(), "--json"});
  REQUIRE_MESSAGE(added.exit_code == 0, added.err);
  CHECK(nlohmann::json::parse(added.out) == nlohmann::json{{"stream", "CLI_JSON_RM"},
                                                           {"subjects", {"cli.jsonrm.>"}},
                                                           {"created", true}});
  auto existing = run({FLEET_CLI, "streams", "add", "CLI_JSON_RM", "--subjects", "cli.jsonrm.>",
                       "--nats", server().url(), "--json"});
  REQUIRE_MESSAGE(existing.exit_code == 0, existing.err);
  CHECK(nlohmann::json::parse(existing.out)["created"] == false);

  auto transport = connect();
  REQUIRE(transport->publish({.subject = "cli.jsonrm.x", .body = "x"}, std::chrono::seconds(5))
              .has_value());
  auto removed =
      run({FLEET_CLI, "streams", "rm", "CLI_JSON_RM", "--yes", "--nats", server().url(), "--json"});
  REQUIRE_MESSAGE(removed.exit_code == 0, removed.err);
  CHECK(nlohmann::json::parse(removed.out) ==
        nlohmann::json{{"removed", "CLI_JSON_RM"}, {"messages", 1}});
}

TEST_CASE("fleet streams --json shows messages and each durable's backlog") {
  auto transport = connect();
  make_stream(*transport, "CLI_STREAMS", "cli.streams.>");
  REQUIRE(transport
              ->ensure_consumer(
                  {.stream = "CLI_STREAMS", .durable = "audit", .filter_subject = "cli.streams.>"})
              .has_value());
  for (int i = 0; i < 5; ++i) {
    REQUIRE(transport->publish({.subject = "cli.streams.a", .body = "x"}, std::chrono::seconds(5))
                .has_value());
  }
  auto result = run({FLEET_CLI, "streams", "--json", "--nats", server().url()});
  REQUIRE(result.exit_code == 0);
  auto all = nlohmann::json::parse(result.out);
  auto stream = std::find_if(all.begin(), all.end(),
                             [](const auto& s) { return s["name"] == "CLI_STREAMS"; });
  REQUIRE(stream != all.end());
  CHECK((*stream)["messages"] == 5);
  CHECK((*stream)["leader"] == "");  // a single server: no cluster, no leader to name
  REQUIRE((*stream)["consumers"].size() == 1);
  CHECK((*stream)["consumers"][0]["name"] == "audit");
  CHECK((*stream)["consumers"][0]["pending"] == 5);

  auto table = run({FLEET_CLI, "streams", "--nats", server().url()});
  CHECK(table.exit_code == 0);
  CHECK(table.out.find("CLI_STREAMS") != std::string::npos);
}

TEST_CASE("fleet --help lists the subcommands and exits 0") {
  auto result = run({FLEET_CLI, "--help"});
  CHECK(result.exit_code == 0);
  CHECK(result.out.find("publish") != std::string::npos);
  CHECK(result.out.find("streams") != std::string::npos);
  auto missing = run({FLEET_CLI});
  CHECK(missing.exit_code == 2);
}

TEST_CASE("fleet status --json reports streams, durable backlogs and dead letters per subject") {
  auto transport = connect();
  make_stream(*transport, "CLI_STATUS", "cli.status.>");
  make_stream(*transport, "DLQ", "dlq.>");
  const fleet::broker::ConsumerConfig durable{
      .stream = "CLI_STATUS", .durable = "status-reader", .filter_subject = "cli.status.>"};
  REQUIRE(transport->ensure_consumer(durable).has_value());
  for (int i = 0; i < 3; ++i) {
    REQUIRE(transport->publish({.subject = "cli.status.x", .body = "m"}, std::chrono::seconds(5))
                .has_value());
  }
  for (const char* subject : {"dlq.cli.a", "dlq.cli.a", "dlq.cli.b"}) {
    REQUIRE(transport->publish({.subject = subject, .body = "dead"}, std::chrono::seconds(5))
                .has_value());
  }

  auto result = run({FLEET_CLI, "status", "--json", "--nats", server().url()});
  REQUIRE_MESSAGE(result.exit_code == 0, result.err);
  const auto status = nlohmann::json::parse(result.out);
  bool stream_seen = false, durable_seen = false;
  for (const auto& s : status["streams"]) {
    if (s["name"] == "CLI_STATUS") {
      stream_seen = true;
      CHECK(s["messages"] == 3);
      CHECK(s["last"] != "-");
    }
  }
  for (const auto& d : status["durables"]) {
    if (d["durable"] == "status-reader") {
      durable_seen = true;
      CHECK(d["pending"] == 3);
      CHECK(d["ack_pending"] == 0);
    }
  }
  CHECK(stream_seen);
  CHECK(durable_seen);
  CHECK(status["dead_letters"]["total"] == 3);
  CHECK(status["dead_letters"]["by_subject"]["dlq.cli.a"] == 2);
  CHECK(status["dead_letters"]["by_subject"]["dlq.cli.b"] == 1);

  // With the outbox's database: its backlog too.
  const auto db = fleet::test::make_temp_dir("fleet-status") / "shop.db";
  {
    auto opened = fleet::outbox::sqlite::open_database(db.string());
    REQUIRE(opened.has_value());
    auto box = fleet::outbox::sqlite::Outbox::open(opened->get());
    REQUIRE(box.has_value());
    REQUIRE(box->append({.subject = "cli.status.y",
                         .meta = fleet::schemas::new_metadata("orders.OrderPlaced"),
                         .body = "x"})
                .has_value());
  }
  auto with_outbox = run({FLEET_CLI, "status", "--json", "--nats", server().url(), "--outbox-db",
                          "sqlite:" + db.string()});
  REQUIRE_MESSAGE(with_outbox.exit_code == 0, with_outbox.err);
  CHECK(nlohmann::json::parse(with_outbox.out)["outbox"]["pending"] == 1);
  std::filesystem::remove_all(db.parent_path());

  auto table = run({FLEET_CLI, "status", "--nats", server().url()});
  CHECK(table.exit_code == 0);
  CHECK(table.out.find("DEAD LETTERS  3") != std::string::npos);

  auto down = run({FLEET_CLI, "status", "--nats", "nats://127.0.0.1:1"});
  CHECK(down.exit_code == 1);
  CHECK(lines(down.err) == 1);
}
