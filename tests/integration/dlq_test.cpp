// `fleet dlq` and scripts/dlq-replay as operators run them: real processes against a real
// nats-server, with dead letters written by fleet-test-worker roles that fail on purpose or
// published the way the runtime writes them. Every test gets its own server.
#include <doctest/doctest.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "eventually.hpp"
#include "fleet/broker/jetstream.hpp"
#include "fleet/dlq/dead_letter.hpp"
#include "fleet/runtime/dead_letter.hpp"
#include "fleet/schemas/codec.hpp"
#include "fleet/schemas/envelope.hpp"
#include "fleet/schemas/events/bench.hpp"
#include "nats_server.hpp"
#include "process.hpp"
#include "test_events.hpp"
#include "worker_process.hpp"

namespace {

namespace h = fleet::schemas::dlq_header;
using fleet::broker::Message;
using fleet::schemas::Payload;
using fleet::test::WorkerProcess;
using nlohmann::json;
using namespace std::chrono_literals;

using fleet::test::event;
using fleet::test::eventually;
using fleet::test::id_of;

int lines(const std::string& text) {
  return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
}

// The dead letter the runtime would write for `original`.
Message dead_letter(const Message& original, const std::string& error_class,
                    const std::string& role, const std::string& failed_at) {
  Message m{.subject = "dlq." + original.subject,
            .headers = original.headers,
            .body = original.body,
            .dedup_id = "dlq-" + role + "-" + id_of(original)};
  m.headers[std::string(h::original_subject)] = original.subject;
  m.headers[std::string(h::error_class)] = error_class;
  m.headers[std::string(h::error_message)] = error_class + " on purpose";
  m.headers[std::string(h::attempts)] = "5";
  m.headers[std::string(h::role)] = role;
  m.headers[std::string(h::first_failed_at)] = failed_at;
  m.headers[std::string(h::last_failed_at)] = failed_at;
  return m;
}

class Fixture {
 public:
  Fixture() : dir_(fleet::test::make_temp_dir("fleet-dlq-test")) {
    auto transport = fleet::broker::jetstream::connect({.url = server_.url()});
    REQUIRE(transport.has_value());
    transport_ = std::move(*transport);
    REQUIRE(transport_->ensure_stream({.name = "TESTS", .subjects = {"tests.>"}}).has_value());
    REQUIRE(
        transport_->ensure_stream(fleet::runtime::DeadLetterConfig{}.stream_config()).has_value());
  }
  ~Fixture() {
    workers_.clear();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  fleet::broker::Transport& transport() { return *transport_; }
  std::string url() const { return server_.url(); }

  WorkerProcess& start_worker(const std::string& role, std::vector<std::string> env = {}) {
    env.push_back("FLEET_TEST_EFFECTS=" + (dir_ / "effects").string());
    return start({FLEET_TEST_WORKER, "--role", role, "--nats", url(), "--backoff-ms", "20"}, env);
  }
  WorkerProcess& start(const std::vector<std::string>& argv, std::vector<std::string> env = {}) {
    const auto log = dir_ / ("process-" + std::to_string(workers_.size()) + ".log");
    workers_.push_back(std::make_unique<WorkerProcess>(argv, env, log));
    return *workers_.back();
  }
  void stop_workers() {
    for (auto& w : workers_) {
      if (w->running()) {
        w->signal(SIGTERM);
        REQUIRE(w->wait(60s).has_value());
      }
    }
  }
  std::string logs() const {
    std::string all;
    for (const auto& w : workers_) all += "--- " + std::to_string(w->pid()) + "\n" + w->log();
    return all;
  }

  // `fleet dlq <args> --nats <url>`.
  fleet::test::RunResult dlq(std::vector<std::string> args, const std::string& input = "") {
    std::vector<std::string> argv = {FLEET_CLI, "dlq"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back("--nats");
    argv.push_back(url());
    return fleet::test::run(argv, input);
  }
  json entries(std::vector<std::string> filters = {}) {
    filters.insert(filters.begin(), {"list", "--json"});
    auto result = dlq(filters);
    REQUIRE_MESSAGE(result.exit_code == 0, result.err);
    return json::parse(result.out);
  }
  std::set<std::uint64_t> sequences(std::vector<std::string> filters = {}) {
    std::set<std::uint64_t> out;
    for (const auto& e : entries(std::move(filters))) out.insert(e["seq"].get<std::uint64_t>());
    return out;
  }

  std::uint64_t publish(const Message& m) {
    auto ack = transport_->publish(m, 10s);
    REQUIRE_MESSAGE(ack.has_value(), ack.error().describe());
    return ack->sequence;
  }
  // Every message stored in `stream`, in order.
  std::vector<Message> stored(const std::string& stream) {
    auto store = transport_->stream_store(stream);
    REQUIRE(store.has_value());
    std::vector<Message> out;
    REQUIRE((*store)
                ->scan(1, "",
                       [&](const auto& s) {
                         out.push_back(s.message);
                         return true;
                       })
                .has_value());
    return out;
  }

  std::multiset<std::string> handled_ids() const {
    std::multiset<std::string> ids;
    std::ifstream in(dir_ / "effects");
    std::string line;
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      std::string id;
      if (fields >> id) ids.insert(id);
    }
    return ids;
  }

 private:
  fleet::test::NatsServer server_;
  std::filesystem::path dir_;
  std::unique_ptr<fleet::broker::Transport> transport_;
  std::vector<std::unique_ptr<WorkerProcess>> workers_;
};

}  // namespace

TEST_CASE(
    "events failed by a broken deployment are replayed after the fix, handled once, DLQ empty") {
  Fixture f;
  f.start_worker("broken", {"FLEET_TEST_BROKEN=1"});
  std::vector<std::string> ids;
  for (int i = 0; i < 20; ++i) {
    const auto m = event("tests.broken.x", static_cast<std::uint64_t>(i), "x");
    ids.push_back(id_of(m));
    f.publish(m);
  }
  REQUIRE_MESSAGE(eventually([&] { return f.entries().size() == 20; }), f.logs());
  const auto listed = f.entries({"--subject", "tests.broken.x"});
  CHECK(listed[0]["error_class"] == "permanent");
  CHECK(listed[0]["role"] == "broken");
  CHECK(listed[0]["type"] == "bench.Payload");
  f.stop_workers();

  f.start_worker("broken");  // the fixed deployment
  auto replay = f.dlq({"replay", "--subject", "tests.broken.>", "--yes"});
  CHECK_MESSAGE(replay.exit_code == 0, replay.err);
  CHECK(replay.out.find("replayed 20, skipped 0, failed 0") != std::string::npos);
  CHECK(f.entries().empty());
  REQUIRE_MESSAGE(eventually([&] { return f.handled_ids().size() == 20; }), f.logs());
  const auto handled = f.handled_ids();
  for (const auto& id : ids) CHECK(handled.count(id) == 1);  // same event ids as published
}

TEST_CASE("filters select exactly the matching entries, and replay and purge touch only those") {
  Fixture f;
  // seq 1..4 in the DLQ stream, in this order.
  f.publish(
      dead_letter(event("tests.a.one", 1, "x"), "timeout", "billing", "2026-01-15T08:00:00Z"));
  f.publish(dead_letter(event("tests.a.two", 2, "x"), "decode", "billing", "2026-01-15T09:00:00Z"));
  f.publish(
      dead_letter(event("tests.b.one", 3, "x"), "timeout", "shipping", "2026-01-15T10:00:00Z"));
  auto other_type = event("tests.b.two", 4, "x");
  other_type.headers[std::string(fleet::schemas::header::type)] = "demo.Note";
  f.publish(dead_letter(other_type, "permanent", "shipping", "2026-01-15T11:00:00Z"));

  using S = std::set<std::uint64_t>;
  CHECK(f.sequences() == S{1, 2, 3, 4});
  CHECK(f.sequences({"--subject", "tests.a.*"}) == S{1, 2});
  CHECK(f.sequences({"--subject", "tests.>"}) == S{1, 2, 3, 4});
  CHECK(f.sequences({"--subject", "tests.b.one"}) == S{3});
  CHECK(f.sequences({"--type", "demo.Note"}) == S{4});
  CHECK(f.sequences({"--error", "TIMEOUT"}) == S{1, 3});
  CHECK(f.sequences({"--error", "decode: decode on purpose"}) == S{2});  // a stats --by error key
  CHECK(f.sequences({"--role", "shipping"}) == S{3, 4});
  CHECK(f.sequences({"--since", "2026-01-15T09:00:00Z"}) == S{2, 3, 4});
  CHECK(f.sequences({"--until", "2026-01-15T10:00:00+01:00"}) == S{1});
  CHECK(f.sequences({"--since", "2026-01-15T09:00:00Z", "--until", "2026-01-15T11:00:00Z"}) ==
        S{2, 3});
  CHECK(f.sequences({"--role", "billing", "--error", "timeout"}) == S{1});
  CHECK(f.sequences({"--limit", "2"}) == S{1, 2});
  CHECK(f.sequences({"--subject", "nothing.here"}).empty());
  CHECK(f.sequences({"--since", "1h"}).empty());  // all failed "in the past" of the test data

  auto table = f.dlq({"list", "--role", "billing"});
  CHECK(table.exit_code == 0);
  CHECK(table.out.find("tests.a.one") != std::string::npos);
  CHECK(table.out.find("tests.b.one") == std::string::npos);

  auto stats = f.dlq({"stats", "--by", "role", "--json"});
  REQUIRE(stats.exit_code == 0);
  auto s = json::parse(stats.out);
  CHECK(s["total"] == 4);
  CHECK(s["groups"].size() == 2);
  CHECK(s["groups"][0]["count"] == 2);
  CHECK(s["groups"][0]["oldest"] == "2026-01-15T08:00:00Z");

  auto replay = f.dlq({"replay", "--error", "timeout", "--yes"});
  CHECK_MESSAGE(replay.exit_code == 0, replay.err);
  CHECK(f.sequences() == S{2, 4});
  const auto replayed = f.stored("TESTS");
  REQUIRE(replayed.size() == 2);
  CHECK(replayed[0].subject == "tests.a.one");
  CHECK(replayed[1].subject == "tests.b.one");

  auto purge = f.dlq({"purge", "--role", "shipping", "--yes"});
  CHECK_MESSAGE(purge.exit_code == 0, purge.err);
  CHECK(purge.out.find("purged 1, failed 0") != std::string::npos);
  CHECK(f.sequences() == S{2});
}

TEST_CASE("replay, its dry run and purge --json print one JSON object with what they did") {
  Fixture f;
  f.publish(
      dead_letter(event("tests.json.a", 1, "x"), "timeout", "billing", "2026-01-15T08:00:00Z"));
  auto looped =
      dead_letter(event("tests.json.b", 2, "x"), "timeout", "billing", "2026-01-15T09:00:00Z");
  looped.headers[std::string(fleet::dlq::replay_count_header)] = "3";  // the loop guard skips it
  f.publish(looped);
  f.publish(
      dead_letter(event("tests.json.c", 3, "x"), "decode", "shipping", "2026-01-15T10:00:00Z"));

  auto dry = f.dlq({"replay", "--dry-run", "--role", "billing", "--json"});
  REQUIRE_MESSAGE(dry.exit_code == 0, dry.err);
  const auto plan = json::parse(dry.out);
  CHECK(plan["dry_run"] == true);
  CHECK(plan["would_replay"] == 1);
  CHECK(plan["would_skip"] == 1);
  CHECK(plan["would_fail"] == 0);
  REQUIRE(plan["entries"].size() == 2);
  CHECK(plan["entries"][0]["sequence"] == 1);
  CHECK(plan["entries"][0]["action"] == "replay");
  CHECK(plan["entries"][0]["subject"] == "tests.json.a");
  CHECK(plan["entries"][0]["type"] == std::string(Payload::type_name));
  CHECK(plan["entries"][0]["replay"] == 1);
  CHECK(plan["entries"][1]["sequence"] == 2);
  CHECK(plan["entries"][1]["action"] == "skip");
  CHECK_FALSE(plan["entries"][1]["reason"].get<std::string>().empty());
  CHECK(f.entries().size() == 3);  // a dry run changes nothing

  auto replay = f.dlq({"replay", "--role", "billing", "--yes", "--json"});
  REQUIRE_MESSAGE(replay.exit_code == 0, replay.err);
  CHECK(json::parse(replay.out) ==
        json{{"replayed", 1}, {"skipped", 1}, {"failed", 0}, {"errors", json::array()}});

  auto none = f.dlq({"replay", "--role", "nobody", "--yes", "--json"});
  REQUIRE_MESSAGE(none.exit_code == 0, none.err);
  CHECK(json::parse(none.out) ==
        json{{"replayed", 0}, {"skipped", 0}, {"failed", 0}, {"errors", json::array()}});

  auto purge = f.dlq({"purge", "--role", "shipping", "--yes", "--json"});
  REQUIRE_MESSAGE(purge.exit_code == 0, purge.err);
  CHECK(json::parse(purge.out) == json{{"purged", 1}, {"failed", 0}, {"errors", json::array()}});
  CHECK(f.sequences() == std::set<std::uint64_t>{2});
}

TEST_CASE(
    "a replay inside the duplicate window is stored: event headers kept, failure headers dropped") {
  Fixture f;
  // As in production: the original is in the stream (dedup id = event id), its dead letter in
  // the DLQ, and the replay comes well inside the two-minute duplicate window.
  const auto original = event("tests.kept.x", 7, "payload");
  f.publish(original);
  f.publish(dead_letter(original, "permanent", "billing", "2026-01-15T08:00:00Z"));
  auto replay = f.dlq({"replay", "--yes"});
  REQUIRE_MESSAGE(replay.exit_code == 0, replay.err);
  CHECK(replay.out.find("replayed 1, skipped 0, failed 0") != std::string::npos);
  const auto stored = f.stored("TESTS");
  REQUIRE(stored.size() == 2);
  const auto& m = stored[1];
  CHECK(m.subject == "tests.kept.x");
  CHECK(m.body == original.body);
  for (const auto& [name, value] : original.headers) CHECK(m.headers.at(name) == value);
  for (const auto& [name, value] : m.headers) CHECK_FALSE(name.starts_with("Fleet-Dlq-"));
  CHECK(m.headers.at(std::string(fleet::dlq::replay_count_header)) == "1");
  CHECK(m.dedup_id != original.dedup_id);
  CHECK(id_of(m) == id_of(original));
}

TEST_CASE("replay --to publishes elsewhere, and --dry-run prints the plan and changes nothing") {
  Fixture f;
  for (int i = 0; i < 3; ++i) {
    f.publish(dead_letter(event("tests.dry.x", static_cast<std::uint64_t>(i), "x"), "timeout",
                          "billing", "2026-01-15T08:00:00Z"));
  }
  auto dry = f.dlq({"replay", "--dry-run", "--to", "tests.elsewhere"});
  CHECK(dry.exit_code == 0);
  CHECK(dry.out.find("would replay seq 1 -> tests.elsewhere") != std::string::npos);
  CHECK(dry.out.find("dry run: would replay 3, skip 0, fail 0") != std::string::npos);
  CHECK(f.entries().size() == 3);
  CHECK(f.stored("TESTS").empty());

  auto real = f.dlq({"replay", "--to", "tests.elsewhere", "--yes", "--limit", "1"});
  CHECK_MESSAGE(real.exit_code == 0, real.err);
  const auto stored = f.stored("TESTS");
  REQUIRE(stored.size() == 1);
  CHECK(stored[0].subject == "tests.elsewhere");
  CHECK(f.entries().size() == 2);
}

TEST_CASE(
    "edit-and-replay delivers the patched payload; a patch breaking the schema publishes nothing") {
  Fixture f;
  f.start_worker("permanent");
  const auto bad = event("tests.permanent.x", 5, "bad");
  f.publish(bad);
  REQUIRE_MESSAGE(eventually([&] { return f.entries().size() == 1; }), f.logs());

  auto invalid = f.dlq({"replay", "--yes", "--edit", R"({"seq":"five"})"});
  CHECK(invalid.exit_code == 1);
  CHECK(invalid.out.find("replayed 0, skipped 0, failed 1") != std::string::npos);
  CHECK(invalid.err.find("edited payload is invalid") != std::string::npos);
  CHECK(f.entries().size() == 1);

  auto fixed = f.dlq({"replay", "--yes", "--edit", R"({"data":"good"})"});
  CHECK_MESSAGE(fixed.exit_code == 0, fixed.err);
  REQUIRE_MESSAGE(eventually([&] { return f.handled_ids().count(id_of(bad)) == 1; }), f.logs());
  CHECK(f.entries().empty());
  const auto stored = f.stored("TESTS");
  REQUIRE(stored.size() == 2);
  auto payload = fleet::schemas::decode<Payload>(stored[1].body);
  REQUIRE(payload.has_value());
  CHECK(payload->data == "good");
  CHECK(payload->seq == 5);
}

TEST_CASE("the loop guard skips an event after 3 replays that failed again; --force replays it") {
  Fixture f;
  f.start_worker("permanent");
  const auto bad = event("tests.permanent.x", 1, "bad");
  f.publish(bad);
  for (int round = 0; round < 3; ++round) {
    CAPTURE(round);
    REQUIRE_MESSAGE(eventually([&] {
                      auto all = f.entries();
                      return all.size() == 1 && all[0]["replay_count"] == round;
                    }),
                    f.logs());
    auto replay = f.dlq({"replay", "--yes"});
    CHECK_MESSAGE(replay.exit_code == 0, replay.err);
    CHECK(replay.out.find("replayed 1, skipped 0, failed 0") != std::string::npos);
  }
  // The replay count travelled with the event into each new dead letter.
  REQUIRE(eventually([&] {
    auto all = f.entries();
    return all.size() == 1 && all[0]["replay_count"] == 3;
  }));
  CHECK(f.entries()[0]["id"] == id_of(bad));
  auto guarded = f.dlq({"replay", "--yes"});
  CHECK(guarded.exit_code == 0);
  CHECK(guarded.out.find("replayed 0, skipped 1, failed 0") != std::string::npos);
  CHECK(f.entries().size() == 1);

  auto forced = f.dlq({"replay", "--yes", "--force"});
  CHECK(forced.out.find("replayed 1, skipped 0, failed 0") != std::string::npos);
}

TEST_CASE("SIGKILL of a replay midway loses nothing: each entry is still in the DLQ or delivered") {
  Fixture f;
  constexpr int count = 2000;
  std::set<std::string> ids;
  for (int i = 0; i < count; ++i) {
    const auto original = event("tests.killed.x", static_cast<std::uint64_t>(i), "x");
    ids.insert(id_of(original));
    f.publish(dead_letter(original, "timeout", "billing", "2026-01-15T08:00:00Z"));
  }
  auto& replay =
      f.start({FLEET_CLI, "dlq", "replay", "--yes", "--rate", "100/s", "--nats", f.url()});
  // The rate only makes "midway" likely; the checks below hold wherever the kill lands.
  REQUIRE_MESSAGE(eventually([&] { return f.stored("TESTS").size() >= 50; }), f.logs());
  replay.signal(SIGKILL);
  REQUIRE(replay.wait(60s).has_value());

  std::set<std::string> in_dlq, delivered;
  for (const auto& e : f.entries()) in_dlq.insert(e["id"].get<std::string>());
  for (const auto& m : f.stored("TESTS")) delivered.insert(id_of(m));
  WARN(in_dlq.size() > 0);  // killed before the end
  WARN(delivered.size() < static_cast<std::size_t>(count));
  for (const auto& id : ids) {
    if (!in_dlq.contains(id) && !delivered.contains(id)) FAIL_CHECK("lost " << id);
  }

  // Running it again finishes the job; what was delivered and still listed is not stored twice
  // (same dedup id inside the duplicate window).
  auto rest = f.dlq({"replay", "--yes"});
  CHECK_MESSAGE(rest.exit_code == 0, rest.err);
  CHECK(f.entries().empty());
  std::multiset<std::string> all;
  for (const auto& m : f.stored("TESTS")) all.insert(id_of(m));
  for (const auto& id : ids) CHECK(all.count(id) == 1);
}

TEST_CASE("purge without --yes and replay off a terminal without --yes refuse with one line") {
  Fixture f;
  f.publish(
      dead_letter(event("tests.keep.x", 1, "x"), "timeout", "billing", "2026-01-15T08:00:00Z"));
  auto purge = f.dlq({"purge"});
  CHECK(purge.exit_code == 2);
  CHECK(purge.err.find("--yes") != std::string::npos);
  CHECK(lines(purge.err) == 1);
  auto replay = f.dlq({"replay"});
  CHECK(replay.exit_code == 2);
  CHECK(replay.err.find("--yes") != std::string::npos);
  CHECK(lines(replay.err) == 1);
  CHECK(f.entries().size() == 1);
  CHECK(f.stored("TESTS").empty());
}

TEST_CASE("malformed filter values and sequences give one line and exit 2") {
  Fixture f;
  const std::vector<std::vector<std::string>> bad = {
      {"list", "--since", "yesterday"},
      {"list", "--until", "2026-13-45T00:00:00Z"},
      {"stats", "--by", "colour"},
      {"show", "abc"},
      {"show", "0"},
      {"show", "-3"},
      {"replay", "--rate", "fast", "--yes"},
      {"replay", "--edit", "{not json", "--yes"},
      {"purge", "--since", "1 hour", "--yes"},
      {"list", "--limit", "many"},
  };
  for (const auto& args : bad) {
    CAPTURE(args);
    auto result = f.dlq(args);
    CHECK(result.exit_code == 2);
    CHECK(lines(result.err) == 1);
  }
}

TEST_CASE("show prints headers and the decoded payload, or hex and the decode error") {
  Fixture f;
  const auto good = event("tests.show.x", 9, "hello");
  f.publish(dead_letter(good, "permanent", "billing", "2026-01-15T08:00:00Z"));
  auto garbage = event("tests.show.y", 1, "x");
  garbage.body = "\xc1\xc1";
  f.publish(dead_letter(garbage, "decode", "billing", "2026-01-15T08:00:00Z"));

  auto shown = f.dlq({"show", "1", "--json"});
  REQUIRE_MESSAGE(shown.exit_code == 0, shown.err);
  auto one = json::parse(shown.out);
  CHECK(one["headers"]["Fleet-Id"] == id_of(good));
  CHECK(one["headers"]["Fleet-Dlq-Error-Class"] == "permanent");
  CHECK(one["payload"]["data"] == "hello");
  CHECK(one["payload"]["seq"] == 9);

  auto raw = f.dlq({"show", "2", "--json"});
  REQUIRE(raw.exit_code == 0);
  auto two = json::parse(raw.out);
  CHECK(two["payload_hex"] == "c1c1");
  CHECK_FALSE(two["decode_error"].get<std::string>().empty());
  auto text = f.dlq({"show", "2"});
  CHECK(text.out.find("payload does not decode") != std::string::npos);

  auto missing = f.dlq({"show", "99"});
  CHECK(missing.exit_code == 1);
  CHECK(lines(missing.err) == 1);
}

TEST_CASE("stats --fail-above exits 3 when the DLQ is deeper than the threshold, 0 otherwise") {
  Fixture f;
  for (int i = 0; i < 3; ++i) {
    f.publish(dead_letter(event("tests.deep.x", static_cast<std::uint64_t>(i), "x"), "timeout",
                          "billing", "2026-01-15T08:00:00Z"));
  }
  auto under = f.dlq({"stats", "--fail-above", "3"});
  CHECK(under.exit_code == 0);
  CHECK(under.out.find("total 3") != std::string::npos);
  auto over = f.dlq({"stats", "--fail-above", "2"});
  CHECK(over.exit_code == 3);
  CHECK(over.out.find("total 3") != std::string::npos);
  CHECK(lines(over.err) == 1);
}

TEST_CASE(
    "scripts/dlq-replay replays one subject with --yes and refuses off a terminal without it") {
  Fixture f;
  f.publish(
      dead_letter(event("tests.script.a", 1, "x"), "timeout", "billing", "2026-01-15T08:00:00Z"));
  f.publish(
      dead_letter(event("tests.script.b", 2, "x"), "timeout", "billing", "2026-01-15T08:00:00Z"));
  const std::vector<std::string> env = {"FLEET_NATS_URL=" + f.url(),
                                        std::string("FLEET_CLI=") + FLEET_CLI};
  auto refused = fleet::test::run({FLEET_DLQ_REPLAY_SCRIPT, "tests.script.a"}, "", env);
  CHECK(refused.exit_code == 2);
  CHECK(f.entries().size() == 2);

  auto dry = fleet::test::run({FLEET_DLQ_REPLAY_SCRIPT, "tests.script.a", "--dry-run"}, "", env);
  CHECK_MESSAGE(dry.exit_code == 0, dry.err);
  CHECK(dry.out.find("would replay 1") != std::string::npos);

  auto done = fleet::test::run({FLEET_DLQ_REPLAY_SCRIPT, "tests.script.a", "--yes"}, "", env);
  CHECK_MESSAGE(done.exit_code == 0, done.err);
  CHECK(done.out.find("replayed 1, skipped 0, failed 0") != std::string::npos);
  const auto left = f.entries();
  REQUIRE(left.size() == 1);
  CHECK(left[0]["subject"] == "tests.script.b");
}

TEST_CASE("before any worker created the DLQ stream, list, stats and replay report it empty") {
  Fixture f;
  auto list = f.dlq({"list", "--json", "--stream", "NEVER_CREATED"});
  CHECK(list.exit_code == 0);
  CHECK(json::parse(list.out).empty());
  auto stats = f.dlq({"stats", "--stream", "NEVER_CREATED", "--fail-above", "0"});
  CHECK(stats.exit_code == 0);
  CHECK(stats.out.find("total 0") != std::string::npos);
  auto replay = f.dlq({"replay", "--stream", "NEVER_CREATED", "--yes"});
  CHECK(replay.exit_code == 0);
  CHECK(replay.out.find("replayed 0, skipped 0, failed 0") != std::string::npos);
  auto show = f.dlq({"show", "1", "--stream", "NEVER_CREATED"});
  CHECK(show.exit_code == 1);
  CHECK(lines(show.err) == 1);
}

TEST_CASE("on a terminal replay asks first: 'n' changes nothing, 'y' replays with a progress bar") {
  Fixture f;
  f.publish(
      dead_letter(event("tests.tty.x", 1, "x"), "timeout", "billing", "2026-01-15T08:00:00Z"));
  // script(1) gives the command a pseudo-terminal and feeds it our input.
  const std::string command = std::string(FLEET_CLI) + " dlq replay --nats " + f.url();
  auto no = fleet::test::run({"script", "-qec", command, "/dev/null"}, "n\n");
  CHECK(no.exit_code == 1);
  CHECK(no.out.find("Replay 1 dead letters to their original subjects? [y/N]") !=
        std::string::npos);
  CHECK(no.out.find("replay cancelled") != std::string::npos);
  CHECK(f.entries().size() == 1);
  CHECK(f.stored("TESTS").empty());

  auto yes = fleet::test::run({"script", "-qec", command, "/dev/null"}, "y\n");
  CHECK(yes.exit_code == 0);
  CHECK(yes.out.find("replaying [") != std::string::npos);
  CHECK(yes.out.find("replayed 1, skipped 0, failed 0") != std::string::npos);
  CHECK(f.entries().empty());
  CHECK(f.stored("TESTS").size() == 1);
}

TEST_CASE("two replays of the same entries at once store each event once and empty the DLQ") {
  Fixture f;
  constexpr int count = 500;
  for (int i = 0; i < count; ++i) {
    f.publish(dead_letter(event("tests.twice.x", static_cast<std::uint64_t>(i), "x"), "timeout",
                          "billing", "2026-01-15T08:00:00Z"));
  }
  const std::vector<std::string> argv = {FLEET_CLI, "dlq", "replay", "--yes", "--nats", f.url()};
  auto& one = f.start(argv);
  auto& two = f.start(argv);
  const auto first = one.wait(120s);
  const auto second = two.wait(120s);
  REQUIRE(first.has_value());
  REQUIRE(second.has_value());
  CHECK_MESSAGE(first->code == 0, f.logs());
  CHECK_MESSAGE(second->code == 0, f.logs());
  CHECK(f.entries().empty());
  std::multiset<std::string> ids;
  for (const auto& m : f.stored("TESTS")) ids.insert(id_of(m));
  CHECK(ids.size() == static_cast<std::size_t>(count));
  for (const auto& id : ids) CHECK(ids.count(id) == 1);
}
