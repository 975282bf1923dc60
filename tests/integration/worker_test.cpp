// The worker runtime as operators run it: fleet-test-worker processes against a real nats-server,
// checked through the effects their handlers record and what lands in the dead-letter stream.
// Every test gets its own server, so durables, inboxes and the DLQ start empty.
#include <doctest/doctest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>
#include <nats/nats.h>
#include "eventually.hpp"

#include "fleet/broker/connect.hpp"
#include "fleet/broker/jetstream.hpp"
#include "fleet/broker/kafka.hpp"
#include "fleet/runtime/dead_letter.hpp"
#include "fleet/runtime/worker.hpp"
#include "fleet/schemas/codec.hpp"
#include "fleet/schemas/envelope.hpp"
#include "fleet/schemas/events/bench.hpp"
#include "nats_server.hpp"
#include "process.hpp"
#include "test_events.hpp"
#include "worker_process.hpp"

namespace {

namespace dlq = fleet::schemas::dlq_header;
using fleet::broker::Message;
using fleet::schemas::Payload;
using fleet::test::WorkerProcess;
using namespace std::chrono_literals;

struct Effect {
  std::string id;
  std::uint64_t seq = 0;
  long pid = 0;
  std::uint64_t attempt = 0;
};

using fleet::test::eventually;

std::string hostname() {
  char name[256] = {};
  ::gethostname(name, sizeof name - 1);
  return name;
}

using fleet::test::event;
using fleet::test::header_of;
using fleet::test::id_of;

class Fixture {
 public:
  enum class Broker { jetstream, kafka };
  // On Kafka the broker is a mock cluster in this test process (the workers reach it over TCP)
  // and the workers keep inbox and state in a SQLite file.
  explicit Fixture(Broker broker = Broker::jetstream)
      : dir_(fleet::test::make_temp_dir("fleet-worker-test")) {
    if (broker == Broker::kafka) {
      auto cluster = fleet::broker::kafka::MockCluster::start(1);
      REQUIRE(cluster.has_value());
      kafka_ = std::move(*cluster);
      broker_flags_ = {"--transport",
                       "kafka",
                       "--kafka",
                       kafka_->bootstrap_servers(),
                       "--state",
                       "sqlite:" + (dir_ / "state.db").string(),
                       "--kafka-session-timeout-ms",
                       "3000"};
    } else {
      broker_flags_ = {"--nats", server_.url()};
    }
    fleet::broker::TransportConfig config;
    config.transport = broker == Broker::kafka ? "kafka" : "nats";
    config.nats.url = server_.url();
    if (kafka_) {
      config.kafka.brokers = kafka_->bootstrap_servers();
      config.kafka.state_url = "sqlite:" + (dir_ / "state.db").string();
    }
    auto transport = fleet::broker::connect(config);
    REQUIRE(transport.has_value());
    transport_ = std::move(*transport);
    // Same configs the worker ensures, so neither side changes the other's stream.
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
  fleet::test::NatsServer& server() { return server_; }
  std::string url() const { return server_.url(); }

  // Starts fleet-test-worker for `role`; fast backoff unless `flags` says otherwise.
  // `env` adds variables (see tests/support/test_worker.cpp: FLEET_TEST_HOLD_AFTER).
  WorkerProcess& start(const std::string& role, std::vector<std::string> flags = {},
                       std::vector<std::string> env = {}) {
    std::vector<std::string> argv = {FLEET_TEST_WORKER, "--role", role, "--backoff-ms", "20"};
    argv.insert(argv.end(), broker_flags_.begin(), broker_flags_.end());
    argv.insert(argv.end(), flags.begin(), flags.end());
    const auto log = dir_ / ("worker-" + std::to_string(workers_.size()) + ".log");
    env.push_back("FLEET_TEST_EFFECTS=" + effects_path().string());
    workers_.push_back(std::make_unique<WorkerProcess>(argv, env, log));
    return *workers_.back();
  }
  // A file whose existence releases handlers held by FLEET_TEST_HOLD_AFTER.
  std::filesystem::path gate_path() const { return dir_ / "gate"; }
  void open_gate() const { std::ofstream(gate_path()).put('\n'); }
  // Every worker's log, for failure messages.
  std::string logs() const {
    std::string all;
    for (const auto& w : workers_)
      all += "--- worker " + std::to_string(w->pid()) + "\n" + w->log();
    return all;
  }

  std::uint64_t publish(const Message& message) {
    auto ack = transport_->publish(message, 10s);
    REQUIRE_MESSAGE(ack.has_value(), ack.error().describe());
    return ack->sequence;
  }
  void publish_all(const std::vector<Message>& messages) {
    std::atomic<int> failed = 0;
    for (const auto& m : messages) {
      REQUIRE(transport_
                  ->publish_async(m,
                                  [&](const auto& ack) {
                                    if (!ack) ++failed;
                                  })
                  .has_value());
    }
    REQUIRE(transport_->flush(60s).has_value());
    REQUIRE(failed == 0);
  }

  std::filesystem::path effects_path() const { return dir_ / "effects"; }
  std::vector<Effect> effects() const {
    std::vector<Effect> all;
    std::ifstream in(effects_path());
    std::string line;
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      Effect e;
      if (fields >> e.id >> e.seq >> e.pid >> e.attempt) all.push_back(e);
    }
    return all;
  }
  // How many effect lines each event id has.
  std::map<std::string, int> effect_counts() const {
    std::map<std::string, int> counts;
    for (const auto& e : effects()) ++counts[e.id];
    return counts;
  }
  bool all_handled(const std::vector<std::string>& ids) const {
    auto counts = effect_counts();
    return std::all_of(ids.begin(), ids.end(), [&](const auto& id) { return counts.contains(id); });
  }

  // True once the role's durable has nothing undelivered and nothing unacked.
  bool settled(const std::string& durable) {
    auto streams = transport_->streams();
    if (!streams) return false;
    for (const auto& s : *streams) {
      for (const auto& c : s.consumers) {
        if (s.name == "TESTS" && c.name == durable) return c.pending == 0 && c.ack_pending == 0;
      }
    }
    return false;
  }
  // Pull requests waiting on the role's durable: one per fetching worker while the stream is idle.
  std::uint64_t waiting(const std::string& durable) {
    auto streams = transport_->streams();
    if (!streams) return 0;
    for (const auto& s : *streams) {
      for (const auto& c : s.consumers) {
        if (s.name == "TESTS" && c.name == durable) return c.waiting;
      }
    }
    return 0;
  }
  void wait_settled(const std::string& durable) {
    REQUIRE_MESSAGE(eventually([&] { return settled(durable); }), logs());
  }
  std::uint64_t dlq_messages() {
    auto streams = transport_->streams();
    REQUIRE(streams.has_value());
    for (const auto& s : *streams) {
      if (s.name == "DLQ") return s.messages;
    }
    return 0;
  }

  // Reads dead letters of `role` (acking them) until `count` arrived or the deadline passed.
  std::vector<Message> dead_letters(const std::string& role, std::size_t count,
                                    std::chrono::milliseconds timeout = 60s) {
    fleet::broker::ConsumerConfig reader{.stream = "DLQ",
                                         .durable = "test-reader-" + role,
                                         .filter_subject = "dlq.tests." + role + ".>"};
    if (!reader_) {
      REQUIRE(transport_->ensure_consumer(reader).has_value());
      auto subscription = transport_->subscribe(reader);
      REQUIRE(subscription.has_value());
      reader_ = std::move(*subscription);
    }
    eventually(
        [&] {
          auto batch = reader_->fetch(count - std::min(count, dead_.size()) + 1, 200ms);
          REQUIRE(batch.has_value());
          for (auto& d : *batch) {
            dead_.push_back(d.message());
            REQUIRE(d.ack().has_value());
          }
          return dead_.size() >= count;
        },
        timeout);
    return dead_;
  }

 private:
  fleet::test::NatsServer server_;
  std::unique_ptr<fleet::broker::kafka::MockCluster> kafka_;  // outlives the transport and workers
  std::filesystem::path dir_;
  std::vector<std::string> broker_flags_;
  std::unique_ptr<fleet::broker::Transport> transport_;
  std::vector<std::unique_ptr<WorkerProcess>> workers_;
  std::unique_ptr<fleet::broker::Subscription> reader_;
  std::vector<Message> dead_;
};

std::vector<std::string> ids_of(const std::vector<Message>& messages) {
  std::vector<std::string> ids;
  for (const auto& m : messages) ids.push_back(id_of(m));
  return ids;
}

std::vector<Message> record_events(int count, const std::string& subject = "tests.record.x") {
  std::vector<Message> messages;
  for (int i = 0; i < count; ++i) messages.push_back(event(subject, i, "x"));
  return messages;
}

// Waits until `worker` ends and checks it exited with `code`.
void check_exit(WorkerProcess& worker, int code, Fixture& fixture) {
  auto exit = worker.wait(60s);
  REQUIRE_MESSAGE(exit.has_value(), fixture.logs());
  CHECK_MESSAGE(exit->code == code, fixture.logs());
}

}  // namespace

TEST_CASE("a retryable failure is redelivered with backoff and handled once, on attempt 3") {
  Fixture f;
  auto& worker = f.start("flaky", {"--immediate-attempts", "1"});
  const auto message = event("tests.flaky.x", 1, "fail:2");
  f.publish(message);
  REQUIRE_MESSAGE(eventually([&] { return f.all_handled({id_of(message)}); }), f.logs());
  f.wait_settled("flaky");
  const auto effects = f.effects();
  REQUIRE(effects.size() == 1);
  CHECK(effects[0].attempt == 3);
  CHECK(f.dlq_messages() == 0);
  worker.signal(SIGTERM);
  check_exit(worker, 0, f);
}

TEST_CASE("a failure on every attempt is dead-lettered once with every failure header") {
  Fixture f;
  auto& worker = f.start("flaky", {"--max-attempts", "3", "--immediate-attempts", "2"});
  const auto message = event("tests.flaky.x", 7, "fail:1000");
  const auto sequence = f.publish(message);

  auto dead = f.dead_letters("flaky", 1);
  REQUIRE_MESSAGE(dead.size() == 1, f.logs());
  f.wait_settled("flaky");
  CHECK(f.dlq_messages() == 1);
  CHECK(f.effects().empty());
  const auto& letter = dead[0];
  CHECK(letter.subject == "dlq.tests.flaky.x");
  CHECK(letter.body == message.body);
  CHECK(id_of(letter) == id_of(message));
  CHECK(header_of(letter, fleet::schemas::header::type) == Payload::type_name);
  CHECK(header_of(letter, dlq::original_subject) == "tests.flaky.x");
  CHECK(header_of(letter, dlq::stream_sequence) == std::to_string(sequence));
  CHECK(header_of(letter, dlq::error_class) == "retryable");
  CHECK(header_of(letter, dlq::error_message).find("failing on purpose") != std::string::npos);
  CHECK(header_of(letter, dlq::attempts) == "3");
  CHECK(header_of(letter, dlq::role) == "flaky");
  CHECK(header_of(letter, dlq::worker) == hostname() + ":" + std::to_string(worker.pid()));
  const auto first = header_of(letter, dlq::first_failed_at);
  const auto last = header_of(letter, dlq::last_failed_at);
  CHECK(!first.empty());
  CHECK(!last.empty());
  CHECK(first < last);  // RFC 3339 UTC with ms compares as text; three deliveries lie between
}

TEST_CASE("a permanent failure is dead-lettered at once and good events still succeed") {
  Fixture f;
  f.start("permanent");
  const auto bad = event("tests.permanent.x", 1, "bad");
  const auto good = event("tests.permanent.x", 2, "good");
  f.publish(bad);
  f.publish(good);
  auto dead = f.dead_letters("permanent", 1);
  REQUIRE_MESSAGE(dead.size() == 1, f.logs());
  CHECK(id_of(dead[0]) == id_of(bad));
  CHECK(header_of(dead[0], dlq::error_class) == "permanent");
  CHECK(header_of(dead[0], dlq::attempts) == "1");
  REQUIRE(eventually([&] { return f.all_handled({id_of(good)}); }));
  f.wait_settled("permanent");
  CHECK(f.effect_counts() == std::map<std::string, int>{{id_of(good), 1}});
}

TEST_CASE("undecodable events are dead-lettered as decode errors and later events are handled") {
  Fixture f;
  f.start("record");
  auto garbage = event("tests.record.garbage", 1, "x");
  garbage.body = std::string("\xc1\xff\x00garbage", 10);
  auto wrong_type = event("tests.record.wrong", 2, "x");
  wrong_type.headers[std::string(fleet::schemas::header::type)] = "orders.OrderPlaced";
  const Message bare{.subject = "tests.record.bare", .body = "not an envelope at all"};
  for (const auto& m : {garbage, wrong_type, bare}) f.publish(m);
  const auto after = record_events(3);
  f.publish_all(after);

  auto dead = f.dead_letters("record", 3);
  REQUIRE_MESSAGE(dead.size() == 3, f.logs());
  std::set<std::string> subjects;
  for (const auto& letter : dead) {
    subjects.insert(letter.subject);
    CHECK_MESSAGE(header_of(letter, dlq::error_class) == "decode", letter.subject);
    CHECK(!header_of(letter, dlq::error_message).empty());
  }
  CHECK(subjects == std::set<std::string>{"dlq.tests.record.garbage", "dlq.tests.record.wrong",
                                          "dlq.tests.record.bare"});
  REQUIRE_MESSAGE(eventually([&] { return f.all_handled(ids_of(after)); }), f.logs());
  f.wait_settled("record");
  CHECK(f.effects().size() == 3);
}

TEST_CASE("a handler that throws is retried, then dead-lettered with error class exception") {
  Fixture f;
  f.start("throws", {"--max-attempts", "2", "--immediate-attempts", "2"});
  const auto message = event("tests.throws.x", 1, "x");
  f.publish(message);
  auto dead = f.dead_letters("throws", 1);
  REQUIRE_MESSAGE(dead.size() == 1, f.logs());
  CHECK(header_of(dead[0], dlq::error_class) == "exception");
  CHECK(header_of(dead[0], dlq::error_message).find("thrown on purpose") != std::string::npos);
  CHECK(header_of(dead[0], dlq::attempts) == "2");
}

void poison_pill_is_dead_lettered(Fixture::Broker broker) {
  Fixture f(broker);
  // A crash costs every delivery the process held one attempt, not just the pill's: with one
  // message in flight, only the pill keeps coming back (docs/architecture.md, poison pills).
  const std::vector<std::string> flags = {"--max-attempts", "3",    "--immediate-attempts", "1",
                                          "--ack-wait-ms",  "1000", "--max-in-flight",      "1"};
  std::vector<Message> others;
  for (int i = 0; i < 20; ++i) others.push_back(event("tests.crash.x", i, "ok"));
  const auto pill = event("tests.crash.x", 99, "crash");
  f.publish_all({others.begin(), others.begin() + 10});
  f.publish(pill);
  f.publish_all({others.begin() + 10, others.end()});

  // The operator's restart loop: a worker that died is replaced.
  WorkerProcess* worker = &f.start("crash", flags);
  int crashes = 0;
  std::vector<Message> dead;
  const bool done = eventually(
      [&] {
        if (auto exit = worker->wait(0ms)) {
          CHECK_MESSAGE(exit->signal == SIGABRT, f.logs());
          ++crashes;
          worker = &f.start("crash", flags);
        }
        dead = f.dead_letters("crash", 1, 0ms);
        return !dead.empty() && f.all_handled(ids_of(others));
      },
      90s);
  REQUIRE_MESSAGE(done, f.logs());
  REQUIRE(dead.size() == 1);
  CHECK(id_of(dead[0]) == id_of(pill));
  CHECK(header_of(dead[0], dlq::error_class) == "poison");
  CHECK(crashes == 3);  // max attempts; the fourth delivery is dead-lettered unhandled
  f.wait_settled("crash");
  CHECK(f.dlq_messages() == 1);
  for (const auto& [id, count] : f.effect_counts()) CHECK_MESSAGE(count == 1, id);
  CHECK(f.effect_counts().size() == others.size());
}

TEST_CASE("a poison pill that kills its worker is dead-lettered as poison; the rest is handled") {
  poison_pill_is_dead_lettered(Fixture::Broker::jetstream);
}

// On Kafka the delivery counts travel with the committed offset (commit metadata).
TEST_CASE(
    "on Kafka, a poison pill that kills its worker is dead-lettered as poison; the rest is "
    "handled") {
  poison_pill_is_dead_lettered(Fixture::Broker::kafka);
}

TEST_CASE("an event delivered twice under one event id has its effect once") {
  Fixture f;
  f.start("record");
  auto first = event("tests.record.x", 1, "x");
  auto second = first;
  first.dedup_id += "-a";  // two stream messages carrying one Fleet-Id
  second.dedup_id += "-b";
  const auto after = record_events(1);
  f.publish(first);
  f.publish(second);
  f.publish_all(after);
  REQUIRE_MESSAGE(eventually([&] {
                    return f.all_handled({id_of(first), id_of(after[0])});
                  }),
                  f.logs());
  f.wait_settled("record");
  CHECK(f.effect_counts()[id_of(first)] == 1);
  CHECK(f.effects().size() == 2);
}

TEST_CASE("two worker processes of one role split 10,000 events, each handled once") {
  Fixture f;
  auto& a = f.start("record");
  auto& b = f.start("record");
  // Both fetching before anything is published, so neither takes the whole backlog alone.
  REQUIRE_MESSAGE(eventually([&] { return f.settled("record") && f.waiting("record") >= 2; }),
                  f.logs());
  const auto messages = record_events(10'000);
  f.publish_all(messages);
  REQUIRE_MESSAGE(eventually([&] { return f.all_handled(ids_of(messages)); }), f.logs());
  f.wait_settled("record");
  const auto effects = f.effects();
  CHECK(effects.size() == messages.size());
  std::map<long, int> per_pid;
  for (const auto& e : effects) ++per_pid[e.pid];
  CHECK(per_pid[a.pid()] > 0);
  CHECK(per_pid[b.pid()] > 0);
  MESSAGE("split: " << per_pid[a.pid()] << " / " << per_pid[b.pid()]);
}

void sigterm_mid_stream_drains(Fixture::Broker broker) {
  Fixture f(broker);
  const std::vector<std::string> flags = {"--ack-wait-ms", "3000"};
  const auto messages = record_events(5'000);
  f.publish_all(messages);
  // After 500 effects the first worker's handlers hold until the gate opens, and the test opens
  // it only once the worker logged that it is stopping: SIGTERM always lands mid-stream, with
  // handlers in flight for the drain to finish.
  auto& first = f.start("record", flags,
                        {"FLEET_TEST_HOLD_AFTER=500", "FLEET_TEST_GATE=" + f.gate_path().string()});
  REQUIRE_MESSAGE(eventually([&] { return f.effects().size() >= 500; }), f.logs());
  first.signal(SIGTERM);
  REQUIRE_MESSAGE(eventually([&] { return first.log().find("stopping") != std::string::npos; }),
                  f.logs());
  f.open_gate();
  check_exit(first, 0, f);
  const auto by_first = f.effects().size();
  CHECK(by_first < messages.size());

  f.start("record", flags);
  REQUIRE_MESSAGE(eventually([&] { return f.all_handled(ids_of(messages)); }), f.logs());
  f.wait_settled("record");
  const auto counts = f.effect_counts();
  CHECK(counts.size() == messages.size());
  for (const auto& [id, count] : counts) CHECK_MESSAGE(count == 1, id);
  MESSAGE("first worker handled " << by_first << " before SIGTERM");
}

TEST_CASE("SIGTERM mid-stream drains and exits 0; a successor finishes, each effect once") {
  sigterm_mid_stream_drains(Fixture::Broker::jetstream);
}

// SIGKILL between a handler's effect and the inbox write re-runs that handler on redelivery
// (inbox.hpp); only events the killed worker had in flight can have their effect twice.
void sigkill_mid_stream_loses_nothing(Fixture::Broker broker) {
  Fixture f(broker);
  const std::vector<std::string> flags = {"--ack-wait-ms", "3000"};
  const auto messages = record_events(5'000);
  f.publish_all(messages);
  auto& first = f.start("record", flags);
  REQUIRE_MESSAGE(eventually([&] { return f.effects().size() >= 500; }), f.logs());
  first.signal(SIGKILL);
  REQUIRE(first.wait(60s).has_value());

  f.start("record", flags);
  REQUIRE_MESSAGE(eventually([&] { return f.all_handled(ids_of(messages)); }), f.logs());
  f.wait_settled("record");
  const auto counts = f.effect_counts();
  CHECK(counts.size() == messages.size());
  int twice = 0;
  for (const auto& [id, count] : counts) {
    CHECK_MESSAGE(count <= 2, id);
    if (count > 1) ++twice;
  }
  // At most the killed worker's window: max in flight (64) plus the handled messages that were
  // waiting for confirmations (max settling, 64).
  CHECK(twice <= 128);
  MESSAGE("events with a repeated effect after SIGKILL: " << twice);
}

TEST_CASE("SIGKILL mid-stream loses nothing; a successor handles what was in flight") {
  sigkill_mid_stream_loses_nothing(Fixture::Broker::jetstream);
}

TEST_CASE(
    "the nats-server SIGKILLed and restarted mid-stream: the worker lives on, loses nothing") {
  Fixture f;
  const auto messages = record_events(3'000);
  f.publish_all(messages);
  auto& worker = f.start("record");
  REQUIRE_MESSAGE(eventually([&] { return f.effects().size() >= 300; }), f.logs());
  f.server().kill();
  // An outage long enough for pull requests and acks to pile up in the reconnect buffer.
  std::this_thread::sleep_for(3s);
  f.server().start();
  REQUIRE_MESSAGE(eventually([&] { return f.all_handled(ids_of(messages)); }), f.logs());
  f.wait_settled("record");
  CHECK_MESSAGE(worker.running(), f.logs());
  CHECK(f.effect_counts().size() == messages.size());
}

TEST_CASE("a nats-server paused past two heartbeats, then resumed: the worker picks up by itself") {
  Fixture f;
  auto& worker = f.start("record");
  REQUIRE(eventually([&] { return f.settled("record"); }));
  const auto before = record_events(100, "tests.record.before");
  f.publish_all(before);
  REQUIRE_MESSAGE(eventually([&] { return f.all_handled(ids_of(before)); }), f.logs());
  f.server().pause();
  std::this_thread::sleep_for(4s);  // the worker's pull heartbeats are 1 s apart
  f.server().resume();
  const auto after = record_events(100, "tests.record.after");
  f.publish_all(after);
  REQUIRE_MESSAGE(eventually([&] { return f.all_handled(ids_of(after)); }), f.logs());
  f.wait_settled("record");
  CHECK_MESSAGE(worker.running(), f.logs());
}

TEST_CASE("with concurrency 8, events of one key are handled in order and keys overlap") {
  Fixture f;
  constexpr int keys = 20, per_key = 50;
  std::vector<Message> messages;
  std::map<std::string, int> key_of;  // event id -> key
  for (int k = 0; k < keys; ++k) {
    for (int seq = 0; seq < per_key; ++seq) {
      messages.push_back(
          event("tests.ordered.k" + std::to_string(k), seq, "x", "key-" + std::to_string(k)));
      key_of[id_of(messages.back())] = k;
    }
  }
  f.publish_all(messages);  // key by key: handling one key at a time would never interleave
  f.start("ordered", {"--concurrency", "8"});
  REQUIRE_MESSAGE(eventually([&] { return f.all_handled(ids_of(messages)); }), f.logs());
  f.wait_settled("ordered");

  const auto effects = f.effects();
  CHECK(effects.size() == messages.size());
  std::map<int, std::vector<std::uint64_t>> seqs;
  int switches = 0, previous = -1;
  for (const auto& e : effects) {
    const int k = key_of.at(e.id);
    seqs[k].push_back(e.seq);
    if (previous != -1 && k != previous) ++switches;
    previous = k;
  }
  for (const auto& [k, s] : seqs) {
    CHECK_MESSAGE(std::is_sorted(s.begin(), s.end()), "key-" << k);
    CHECK(s.size() == per_key);
  }
  CHECK(switches > keys - 1);
}

TEST_CASE("fleet-test-worker --help lists the roles; an unknown role exits 2 with one line") {
  auto help = fleet::test::run({FLEET_TEST_WORKER, "--help"});
  CHECK(help.exit_code == 0);
  for (const auto* role : {"record", "flaky", "permanent", "crash", "slow", "ordered", "throws"}) {
    CHECK_MESSAGE(help.out.find(role) != std::string::npos, role);
  }
  auto unknown = fleet::test::run({FLEET_TEST_WORKER, "--role", "nope"});
  CHECK(unknown.exit_code == 2);
  CHECK(std::count(unknown.err.begin(), unknown.err.end(), '\n') == 1);
  CHECK(unknown.err.find("nope") != std::string::npos);
}

TEST_CASE("a slow handler that heartbeats outlives its ack wait and is handled once") {
  Fixture f;
  f.start("slow", {"--ack-wait-ms", "1000", "--concurrency", "4"});
  const auto message = event("tests.slow.x", 1, "3000");
  f.publish(message);
  REQUIRE_MESSAGE(eventually([&] { return f.all_handled({id_of(message)}); }), f.logs());
  f.wait_settled("slow");
  const auto effects = f.effects();
  REQUIRE(effects.size() == 1);
  CHECK(effects[0].attempt == 1);
}

TEST_CASE("a handler that runs past its timeout is dead-lettered with error class timeout") {
  Fixture f;
  f.start("slow", {"--timeout-ms", "200", "--max-attempts", "2", "--immediate-attempts", "1"});
  const auto message = event("tests.slow.x", 1, "60000");
  const auto quick = event("tests.slow.x", 2, "0");
  f.publish(message);
  f.publish(quick);
  auto dead = f.dead_letters("slow", 1);
  REQUIRE_MESSAGE(dead.size() == 1, f.logs());
  CHECK(id_of(dead[0]) == id_of(message));
  CHECK(header_of(dead[0], dlq::error_class) == "timeout");
  CHECK(header_of(dead[0], dlq::error_message).find("timeout 200 ms") != std::string::npos);
  CHECK(header_of(dead[0], dlq::attempts) == "2");
  REQUIRE(eventually([&] { return f.all_handled({id_of(quick)}); }));
  f.wait_settled("slow");
  CHECK(f.effect_counts() == std::map<std::string, int>{{id_of(quick), 1}});
}

namespace {

// One sample's value from a worker's /metrics ("" = absent).
std::string sample(const std::string& metrics, const std::string& series) {
  const auto at = metrics.find("\n" + series + " ");
  if (at == std::string::npos) return "";
  const auto begin = at + series.size() + 2;
  return metrics.substr(begin, metrics.find('\n', begin) - begin);
}

}  // namespace

TEST_CASE(
    "a worker's metrics count handled and dead-lettered events; readiness follows the broker") {
  Fixture f;
  const int port = fleet::test::free_port();
  f.start("permanent", {"--metrics-addr", "127.0.0.1:" + std::to_string(port)});
  httplib::Client http("127.0.0.1", port);
  http.set_connection_timeout(1);
  auto get = [&](const char* path) -> std::pair<int, std::string> {
    auto res = http.Get(path);
    return res ? std::pair{res->status, res->body} : std::pair{0, std::string()};
  };
  REQUIRE_MESSAGE(eventually([&] { return get("/readyz").first == 200; }), f.logs());
  CHECK(get("/healthz").first == 200);

  f.publish(event("tests.permanent.x", 1, "good"));
  f.publish(event("tests.permanent.x", 2, "good"));
  f.publish(event("tests.permanent.x", 3, "bad"));
  REQUIRE(f.dead_letters("permanent", 1).size() == 1);
  f.wait_settled("permanent");
  const std::string labels = R"({role="permanent",subject="tests.permanent.>"})";
  std::string metrics;
  REQUIRE_MESSAGE(eventually([&] {
                    metrics = get("/metrics").second;
                    return sample(metrics, "fleet_messages_handled_total" + labels) == "2";
                  }),
                  metrics);
  CHECK(
      sample(
          metrics,
          R"(fleet_messages_dead_lettered_total{role="permanent",subject="tests.permanent.>",error_class="permanent"})") ==
      "1");
  CHECK(sample(metrics, R"(fleet_handler_duration_seconds_count{role="permanent"})") == "2");
  CHECK(sample(metrics, R"(fleet_consumer_pending{role="permanent",durable="permanent"})") == "0");
  CHECK(sample(metrics, "fleet_dlq_depth") == "1");

  f.server().stop();
  CHECK(eventually([&] { return get("/readyz").first == 503; }));
  CHECK(get("/healthz").first == 200);
  f.server().start();
  CHECK_MESSAGE(eventually([&] { return get("/readyz").first == 200; }), f.logs());
}
TEST_CASE(
    "on Kafka, SIGTERM mid-stream commits on the way out; a successor finishes, each effect once") {
  sigterm_mid_stream_drains(Fixture::Broker::kafka);
}

TEST_CASE("on Kafka, SIGKILL mid-stream loses nothing; a successor handles what was in flight") {
  sigkill_mid_stream_loses_nothing(Fixture::Broker::kafka);
}
TEST_CASE("on Kafka, two worker processes of one group split 10,000 events, each handled once") {
  Fixture f(Fixture::Broker::kafka);
  auto& a = f.start("record");
  auto& b = f.start("record");
  const auto messages = record_events(10'000);
  auto handled_by = [&] {
    std::map<long, int> per_pid;
    for (const auto& e : f.effects()) ++per_pid[e.pid];
    return per_pid;
  };
  // The group forms while events flow (the dev cluster takes its session timeout, 3 s here, per
  // join): publish in slices until both processes have handled some, then the rest.
  std::size_t sent = 0;
  eventually(
      [&] {
        const std::size_t next = std::min(messages.size(), sent + 200);
        f.publish_all({messages.begin() + static_cast<long>(sent),
                       messages.begin() + static_cast<long>(next)});
        sent = next;
        std::this_thread::sleep_for(100ms);
        auto per_pid = handled_by();
        return (per_pid[a.pid()] > 0 && per_pid[b.pid()] > 0) || sent == messages.size();
      },
      60s);
  f.publish_all({messages.begin() + static_cast<long>(sent), messages.end()});
  REQUIRE_MESSAGE(eventually([&] { return f.all_handled(ids_of(messages)); }), f.logs());
  f.wait_settled("record");
  const auto counts = f.effect_counts();
  CHECK(counts.size() == messages.size());
  for (const auto& [id, count] : counts) CHECK_MESSAGE(count == 1, id);
  auto per_pid = handled_by();
  CHECK_MESSAGE(per_pid[a.pid()] > 0, f.logs());
  CHECK_MESSAGE(per_pid[b.pid()] > 0, f.logs());
  MESSAGE("split: " << per_pid[a.pid()] << " / " << per_pid[b.pid()] << " (" << sent
                    << " published before both had some)");
}

// Whether one line of `log` contains every one of `parts`.
bool has_line(const std::string& log, std::initializer_list<std::string_view> parts) {
  std::size_t begin = 0;
  while (begin < log.size()) {
    std::size_t end = log.find('\n', begin);
    if (end == std::string::npos) end = log.size();
    const std::string_view line(log.data() + begin, end - begin);
    if (std::ranges::all_of(parts, [&](std::string_view part) {
          return line.find(part) != std::string_view::npos;
        })) {
      return true;
    }
    begin = end + 1;
  }
  return false;
}

TEST_CASE("on Kafka, a worker logs each partition assignment and revocation with its durable") {
  Fixture f(Fixture::Broker::kafka);
  auto& a = f.start("record");
  REQUIRE_MESSAGE(eventually([&] {
                    return has_line(
                        a.log(), {R"("msg":"kafka partitions assigned")", R"("durable":"record")",
                                  R"("partitions":[0,1,2,3])"});
                  }),
                  f.logs());
  // A second member: the eager assignor takes every partition back, then splits them.
  auto& b = f.start("record");
  CHECK_MESSAGE(eventually([&] {
                  return has_line(a.log(), {R"("msg":"kafka partitions revoked")",
                                            R"("durable":"record")", R"("lost":false)"}) &&
                         std::ranges::any_of(std::array{"[0", "[1", "[2", "[3"}, [&](auto first) {
                           return has_line(b.log(), {R"("msg":"kafka partitions assigned")",
                                                     R"("durable":"record")",
                                                     std::string(R"("partitions":)") + first});
                         });
                }),
                f.logs());
}

// ---- Failure paths: what fleet promises when things fail (docs/operations.md) ----

namespace {

// A JetStream API request sent straight to the server, as the nats CLI does, for what the
// Transport does not offer (deleting a stream, changing its limits). Returns the JSON reply.
std::string jetstream_api(const std::string& url, const std::string& subject,
                          const std::string& body) {
  natsConnection* raw = nullptr;
  REQUIRE(natsConnection_ConnectTo(&raw, url.c_str()) == NATS_OK);
  std::unique_ptr<natsConnection, decltype(&natsConnection_Destroy)> connection(
      raw, natsConnection_Destroy);
  natsMsg* reply = nullptr;
  REQUIRE(natsConnection_RequestString(&reply, connection.get(), subject.c_str(), body.c_str(),
                                       10'000) == NATS_OK);
  std::unique_ptr<natsMsg, decltype(&natsMsg_Destroy)> owned(reply, natsMsg_Destroy);
  return std::string(natsMsg_GetData(reply),
                     static_cast<std::size_t>(natsMsg_GetDataLength(reply)));
}

// The dead-letter stream as the worker creates it, with a message limit (-1 = none) that
// refuses new messages once reached.
std::string dlq_with_max_messages(int max) {
  return R"({"name":"DLQ","subjects":["dlq.>"],"storage":"file","discard":"new","max_msgs":)" +
         std::to_string(max) + "}";
}

// Bytes the NATS header block of `message` takes on the wire (Nats-Msg-Id included): what
// counts against max_payload besides the body.
std::size_t header_bytes(const Message& message) {
  std::size_t bytes = std::string_view("NATS/1.0\r\n").size() + 2;
  for (const auto& [name, value] : message.headers) bytes += name.size() + value.size() + 4;
  if (!message.dedup_id.empty())
    bytes += std::string_view("Nats-Msg-Id").size() + message.dedup_id.size() + 4;
  return bytes;
}

// A worker's /metrics sample, read over HTTP; -1 when it cannot be read.
long metric(int port, const std::string& series) {
  httplib::Client http("127.0.0.1", port);
  http.set_connection_timeout(1);
  auto res = http.Get("/metrics");
  if (!res || res->status != 200) return -1;
  const auto at = res->body.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stol(res->body.substr(at + series.size() + 2));
}

}  // namespace

TEST_CASE("an undecodable event at the broker's size limit is dead-lettered trimmed, not lost") {
  Fixture f;
  f.start("record");
  constexpr std::size_t max_payload = 1024 * 1024;  // nats-server's default
  auto sized = [](std::uint64_t seq, std::size_t room) {
    auto message = event("tests.record.big", seq, "x");
    // 0xc1 is never valid msgpack: the body cannot be decoded, a permanent failure.
    message.body = std::string(max_payload - header_bytes(message) - room, '\xc1');
    return message;
  };
  const auto roomy = sized(1, 300);  // room for the trimmed failure headers, not for all
  const auto full = sized(2, 0);     // exactly at the limit: room for no failure header at all
  f.publish(roomy);
  f.publish(full);

  auto dead = f.dead_letters("record", 2);
  REQUIRE_MESSAGE(dead.size() == 2, f.logs());
  f.wait_settled("record");
  std::map<std::string, Message> by_id;
  for (auto& letter : dead) by_id[id_of(letter)] = letter;
  const auto& trimmed = by_id.at(id_of(roomy));
  CHECK(header_of(trimmed, dlq::trimmed) == "headers");
  CHECK(header_of(trimmed, dlq::error_class) == "decode");
  CHECK(header_of(trimmed, dlq::original_subject) == "tests.record.big");
  CHECK(trimmed.body == roomy.body);
  const auto& bodiless = by_id.at(id_of(full));
  CHECK(header_of(bodiless, dlq::trimmed) == "headers,body");
  CHECK(header_of(bodiless, dlq::original_body_bytes) == std::to_string(full.body.size()));
  CHECK(header_of(bodiless, dlq::stream_sequence) == "2");
  CHECK(bodiless.body.empty());
}

TEST_CASE("the dead-letter stream deleted mid-run is created again; no dead letter is lost") {
  Fixture f;
  f.start("permanent", {"--max-attempts", "2"});
  f.publish(event("tests.permanent.x", 1, "bad"));
  REQUIRE_MESSAGE(eventually([&] { return f.dlq_messages() == 1; }), f.logs());
  const auto deleted = jetstream_api(f.url(), "$JS.API.STREAM.DELETE.DLQ", "");
  REQUIRE_MESSAGE(deleted.find(R"("success":true)") != std::string::npos, deleted);

  const auto second = event("tests.permanent.x", 2, "bad");
  const auto third = event("tests.permanent.x", 3, "bad");
  const auto good = event("tests.permanent.x", 4, "good");
  for (const auto& m : {second, third, good}) f.publish(m);
  REQUIRE_MESSAGE(eventually([&] { return f.all_handled({id_of(good)}); }), f.logs());
  f.wait_settled("permanent");
  auto dead = f.dead_letters("permanent", 2);
  REQUIRE_MESSAGE(dead.size() == 2, f.logs());
  CHECK(std::set<std::string>{id_of(dead[0]), id_of(dead[1])} ==
        std::set<std::string>{id_of(second), id_of(third)});
  CHECK(header_of(dead[0], dlq::error_class) == "permanent");
}

TEST_CASE("a message whose dead letter cannot be stored is held, in progress, until it can be") {
  Fixture f;
  const int port = fleet::test::free_port();
  auto& worker =
      f.start("permanent", {"--max-attempts", "2", "--max-backoff-ms", "100", "--ack-wait-ms",
                            "1000", "--metrics-addr", "127.0.0.1:" + std::to_string(port)});
  // Once the worker has ensured its streams (its durable exists), the DLQ fills up at one.
  REQUIRE_MESSAGE(eventually([&] { return f.settled("permanent"); }), f.logs());
  const auto full = jetstream_api(f.url(), "$JS.API.STREAM.UPDATE.DLQ", dlq_with_max_messages(1));
  REQUIRE_MESSAGE(full.find(R"("max_msgs":1)") != std::string::npos, full);
  const auto first = event("tests.permanent.x", 1, "bad");
  const auto second = event("tests.permanent.x", 2, "bad");
  f.publish(first);
  REQUIRE_MESSAGE(eventually([&] { return f.dlq_messages() == 1; }), f.logs());
  f.publish(second);
  // The DLQ is full: the copy is refused again and again — more often than the broker would
  // have redelivered it under a MaxDeliver cap — and the worker says so.
  const std::string failures = R"(fleet_dead_letter_failures_total{role="permanent"})";
  REQUIRE_MESSAGE(eventually([&] { return metric(port, failures) >= 6; }), f.logs());
  CHECK(worker.log().find("dead-letter publish failed; holding the message") != std::string::npos);
  CHECK(!f.settled("permanent"));

  const auto lifted =
      jetstream_api(f.url(), "$JS.API.STREAM.UPDATE.DLQ", dlq_with_max_messages(-1));
  REQUIRE_MESSAGE(lifted.find(R"("max_msgs":-1)") != std::string::npos, lifted);
  auto dead = f.dead_letters("permanent", 2);
  REQUIRE_MESSAGE(dead.size() == 2, f.logs());
  f.wait_settled("permanent");
  CHECK(id_of(dead[1]) == id_of(second));
  CHECK(header_of(dead[1], dlq::error_class) == "permanent");  // its reason, not "poison"
  CHECK(header_of(dead[1], dlq::attempts) == "1");
}

TEST_CASE("SIGTERM while a handler outlives the drain timeout exits 0; a successor handles it") {
  Fixture f;
  const std::vector<std::string> flags = {"--ack-wait-ms", "1000", "--drain-timeout-ms", "100"};
  auto& first = f.start("slow", flags);
  const auto message = event("tests.slow.x", 1, "5000");  // 5 s, heartbeating
  f.publish(message);
  // Delivered and still running: acked by nobody yet.
  REQUIRE_MESSAGE(eventually([&] {
                    auto streams = f.transport().streams();
                    if (!streams) return false;
                    for (const auto& s : *streams) {
                      for (const auto& c : s.consumers) {
                        if (s.name == "TESTS" && c.name == "slow") return c.ack_pending == 1;
                      }
                    }
                    return false;
                  }),
                  f.logs());
  first.signal(SIGTERM);
  check_exit(first, 0, f);
  CHECK(first.log().find("exiting with a handler still running") != std::string::npos);
  CHECK(f.effects().empty());

  f.start("slow", flags);
  REQUIRE_MESSAGE(eventually([&] { return f.all_handled({id_of(message)}); }), f.logs());
  f.wait_settled("slow");
  const auto effects = f.effects();
  REQUIRE(effects.size() == 1);
  CHECK(effects[0].attempt == 2);
  CHECK(f.dlq_messages() == 0);
}

// A stop does not wait out the fetch thread's long-poll: the pull is interrupted, in-flight work
// drains, and run() returns. The long-poll here is a minute, so "before it could expire" cannot
// be a matter of timing luck.
TEST_CASE("a worker stops at once while its fetch long-polls; what it handled is acked") {
  Fixture f;
  const auto fetch_wait = fleet::test::scaled(60s);
  fleet::runtime::Worker worker(f.transport(), {.fetch_wait = fetch_wait});
  std::atomic<int> handled = 0;
  REQUIRE(worker
              .add({.role = "idle",
                    .stream = "TESTS",
                    .subject = "tests.idle.>",
                    .handler =
                        [&](const fleet::schemas::Envelope&, fleet::runtime::Context&) {
                          ++handled;
                          return fleet::runtime::Outcome::ok();
                        }})
              .has_value());
  const auto messages = record_events(20, "tests.idle.x");
  f.publish_all(messages);
  std::stop_source stop;
  const auto started = std::chrono::steady_clock::now();
  auto ran = std::async(std::launch::async, [&] { return worker.run(stop.get_token()); });
  REQUIRE(eventually([&] { return handled == 20; }));
  // Every event handled and acked, and the fetch thread waiting in a pull on the idle stream.
  REQUIRE(eventually([&] { return f.settled("idle") && f.waiting("idle") >= 1; }));

  stop.request_stop();
  REQUIRE(ran.wait_until(started + fetch_wait) == std::future_status::ready);
  CHECK(ran.get().has_value());
  CHECK(f.settled("idle"));
  CHECK(handled == 20);
}
