// Flow control as operators run it: fleet-test-worker processes with --breaker-* and
// --rate-limit* against a real nats-server, checked through the effects their handlers record,
// the dead-letter stream, the durable's backlog and the workers' logs. Counts over windows of
// recorded start times; no wall-clock threshold on the test's own progress.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "eventually.hpp"
#include "fleet/broker/jetstream.hpp"
#include "fleet/runtime/dead_letter.hpp"
#include "nats_server.hpp"
#include "process.hpp"
#include "test_events.hpp"
#include "worker_process.hpp"

namespace {

using fleet::test::eventually;
using fleet::test::WorkerProcess;
using namespace std::chrono_literals;

struct Effect {
  std::string id;
  std::uint64_t seq = 0;
  long pid = 0;
  std::uint64_t attempt = 0;
  std::int64_t at_ms = 0;  // the "paced" role only
};

class Fixture {
 public:
  Fixture() : dir_(fleet::test::make_temp_dir("fleet-flow-test")) {
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

  WorkerProcess& start(const std::string& role, std::vector<std::string> flags,
                       std::vector<std::string> env = {}) {
    std::vector<std::string> argv = {FLEET_TEST_WORKER, "--role",       role, "--nats",
                                     server_.url(),     "--backoff-ms", "20"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    env.push_back("FLEET_TEST_EFFECTS=" + (dir_ / "effects").string());
    const auto log = dir_ / ("worker-" + std::to_string(workers_.size()) + ".log");
    workers_.push_back(std::make_unique<WorkerProcess>(argv, env, log));
    return *workers_.back();
  }
  std::string logs() const {
    std::string all;
    for (const auto& w : workers_)
      all += "--- worker " + std::to_string(w->pid()) + "\n" + w->log();
    return all;
  }
  // Log lines of every worker containing `text`.
  int log_lines(const std::string& text) const {
    int count = 0;
    std::istringstream in(logs());
    for (std::string line; std::getline(in, line);) count += line.find(text) != std::string::npos;
    return count;
  }

  std::vector<std::string> publish(const std::string& subject, int count) {
    std::vector<std::string> ids;
    for (int i = 0; i < count; ++i) {
      auto message = fleet::test::event(subject, static_cast<std::uint64_t>(i), "x");
      ids.push_back(fleet::test::id_of(message));
      REQUIRE(transport_->publish(message, 10s).has_value());
    }
    return ids;
  }

  void publish_data(const std::string& subject, const std::vector<std::string>& data) {
    for (std::size_t i = 0; i < data.size(); ++i) {
      REQUIRE(transport_->publish(fleet::test::event(subject, i, data[i]), 10s).has_value());
    }
  }

  std::vector<Effect> effects() const {
    std::vector<Effect> all;
    std::ifstream in(dir_ / "effects");
    for (std::string line; std::getline(in, line);) {
      std::istringstream fields(line);
      Effect e;
      if (fields >> e.id >> e.seq >> e.pid >> e.attempt) {
        fields >> e.at_ms;
        all.push_back(e);
      }
    }
    return all;
  }

  fleet::broker::ConsumerInfo consumer(const std::string& durable) {
    auto streams = transport_->streams();
    REQUIRE(streams.has_value());
    for (const auto& s : *streams) {
      for (const auto& c : s.consumers) {
        if (s.name == "TESTS" && c.name == durable) return c;
      }
    }
    return {};
  }
  std::uint64_t dlq_messages() {
    auto streams = transport_->streams();
    REQUIRE(streams.has_value());
    for (const auto& s : *streams) {
      if (s.name == "DLQ") return s.messages;
    }
    return 0;
  }

  std::filesystem::path dir() const { return dir_; }
  std::string url() const { return server_.url(); }

 private:
  fleet::test::NatsServer server_;
  std::filesystem::path dir_;
  std::unique_ptr<fleet::broker::Transport> transport_;
  std::vector<std::unique_ptr<WorkerProcess>> workers_;
};

// The most starts within any `window` of the recorded start times.
std::size_t busiest(std::vector<std::int64_t> starts, std::int64_t window_ms) {
  std::sort(starts.begin(), starts.end());
  std::size_t most = 0;
  for (std::size_t i = 0, j = 0; i < starts.size(); ++i) {
    while (j < starts.size() && starts[j] < starts[i] + window_ms) ++j;
    most = std::max(most, j - i);
  }
  return most;
}

}  // namespace

TEST_CASE(
    "during a downstream outage the breaker opens, holds messages and dead-letters none; "
    "after it every message is handled once") {
  Fixture fixture;
  const auto down = fixture.dir() / "downstream-down";
  std::ofstream(down).put('x');
  // Without the breaker three attempts would dead-letter every message within a second.
  fixture.start("downstream",
                {"--max-attempts", "3", "--concurrency", "1", "--max-in-flight", "4",
                 "--breaker-failures", "3", "--breaker-cool-down-ms", "200",
                 "--breaker-max-cool-down-ms", "800", "--breaker-probes-per-message", "0"},
                {"FLEET_TEST_DOWNSTREAM_DOWN=" + down.string()});
  const auto ids = fixture.publish("tests.downstream.x", 40);

  // Opened, then probed and re-opened at least twice: the outage spans several probes.
  REQUIRE_MESSAGE(eventually([&] { return fixture.log_lines("\"circuit open\"") >= 3; }),
                  fixture.logs());
  CHECK(fixture.log_lines("\"circuit half-open\"") >= 2);
  CHECK(fixture.dlq_messages() == 0);
  CHECK(fixture.effects().empty());
  // The rest waits in the stream, unattempted: fetched were at most max_in_flight, plus one
  // refill for each failure before the circuit opened (its slot freed when it was handed back).
  CHECK(fixture.consumer("downstream").pending >= 40 - 4 - 2);
  // `fleet status` names the circuit that is not closed.
  CHECK_MESSAGE(eventually([&] {
                  auto status = fleet::test::run({FLEET_CLI, "status", "--nats", fixture.url()});
                  return status.out.find("CIRCUITS  not all closed") != std::string::npos &&
                         status.out.find("tests.downstream.>") != std::string::npos;
                }),
                fleet::test::run({FLEET_CLI, "status", "--nats", fixture.url()}).out);

  std::filesystem::remove(down);
  REQUIRE_MESSAGE(eventually([&] {
                    std::set<std::string> handled;
                    for (const auto& e : fixture.effects()) handled.insert(e.id);
                    return handled.size() == ids.size();
                  }),
                  fixture.logs());
  CHECK(fixture.log_lines("\"circuit closed\"") >= 1);
  CHECK(eventually([&] {
    auto status = fleet::test::run({FLEET_CLI, "status", "--nats", fixture.url()});
    return status.out.find("CIRCUITS  all closed") != std::string::npos;
  }));
  REQUIRE(eventually([&] {
    const auto c = fixture.consumer("downstream");
    return c.pending == 0 && c.ack_pending == 0;
  }));
  CHECK(fixture.dlq_messages() == 0);
  std::map<std::string, int> counts;
  int redelivered = 0;
  for (const auto& e : fixture.effects()) {
    ++counts[e.id];
    redelivered += e.attempt > 1;
  }
  for (const auto& id : ids) CHECK_MESSAGE(counts[id] == 1, id);
  // Only the failures before the circuit opened used an attempt (breaker-failures - 1); held
  // messages, probes included, kept their first delivery.
  MESSAGE("outage: " << redelivered << " of " << ids.size() << " handled after a redelivery");
  CHECK(redelivered <= 2);
}

TEST_CASE("a held message that keeps failing its probes is handed back and another one probes") {
  Fixture fixture;
  const auto down = fixture.dir() / "downstream-down";
  std::ofstream(down).put('x');
  fixture.start("downstream",
                {"--max-attempts", "100", "--concurrency", "1", "--breaker-failures", "1",
                 "--breaker-cool-down-ms", "50", "--breaker-max-cool-down-ms", "50",
                 "--breaker-probes-per-message", "2"},
                {"FLEET_TEST_DOWNSTREAM_DOWN=" + down.string()});
  fixture.publish("tests.downstream.x", 2);
  // Each hand-back is an ordinary failure: logged, redelivered with backoff, one attempt used.
  REQUIRE_MESSAGE(
      eventually([&] { return fixture.log_lines("\"handler failed; redelivering\"") >= 2; }),
      fixture.logs());
  std::filesystem::remove(down);
  REQUIRE_MESSAGE(eventually([&] { return fixture.effects().size() == 2; }), fixture.logs());
  CHECK(fixture.dlq_messages() == 0);
}

TEST_CASE("failures of other error classes do not open the breaker") {
  Fixture fixture;
  fixture.start("permanent", {"--breaker-failures", "2", "--breaker-cool-down-ms", "60000"});
  // Bad messages fail permanently (class "permanent"), the good ones between them succeed.
  fixture.publish_data("tests.permanent.x", {"bad", "bad", "bad", "ok", "bad", "bad", "ok"});
  REQUIRE_MESSAGE(eventually([&] { return fixture.dlq_messages() == 5; }), fixture.logs());
  REQUIRE(eventually([&] { return fixture.effects().size() == 2; }));
  CHECK(fixture.log_lines("\"circuit open\"") == 0);
}

TEST_CASE("three processes under a role-wide 100/s limit together stay within its accuracy") {
  Fixture fixture;
  const auto ids = fixture.publish("tests.paced.x", 600);
  for (int i = 0; i < 3; ++i) {
    fixture.start("paced", {"--rate-limit", "100", "--rate-limit-scope", "role"});
  }
  REQUIRE_MESSAGE(eventually([&] { return fixture.effects().size() >= ids.size(); }, 120s),
                  fixture.logs());
  std::vector<std::int64_t> starts;
  std::set<long> pids;
  for (const auto& e : fixture.effects()) {
    starts.push_back(e.at_ms);
    pids.insert(e.pid);
  }
  CHECK(pids.size() == 3);  // the limit is shared, not one process doing all the work
  MESSAGE("role-wide 100/s, 3 processes: busiest 1 s " << busiest(starts, 1'000) << ", busiest 3 s "
                                                       << busiest(starts, 3'000));
  // Documented bound over any span of T s: burst + rate * T + processes * chunk, here
  // 10 + 100 * T + 3 * 5. Three unshared limits would run at up to 300/s.
  CHECK(busiest(starts, 1'000) <= 10 + 100 + 15);
  CHECK(busiest(starts, 3'000) <= 10 + 300 + 15);
}

TEST_CASE("a per-process rate limit: excess messages wait, none fails") {
  Fixture fixture;
  const auto ids = fixture.publish("tests.paced.x", 150);
  fixture.start("paced", {"--rate-limit", "50"});
  REQUIRE_MESSAGE(eventually([&] { return fixture.effects().size() >= ids.size(); }, 120s),
                  fixture.logs());
  std::vector<std::int64_t> starts;
  for (const auto& e : fixture.effects()) {
    starts.push_back(e.at_ms);
    CHECK(e.attempt == 1);
  }
  MESSAGE("per-process 50/s: busiest 1 s " << busiest(starts, 1'000));
  CHECK(busiest(starts, 1'000) <= 5 + 50);
  CHECK(fixture.dlq_messages() == 0);
}
