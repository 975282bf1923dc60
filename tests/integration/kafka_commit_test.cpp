// How the Kafka subscription commits offsets and delivery counts, against librdkafka's mock
// cluster: with the coordinator refusing commits on purpose, when a durable is handed from one
// process to the next under each rebalance protocol (eager and cooperative assignors), when a
// backlog overflows the subscription's buffer (its partitions paused and resumed), and when the
// client skips records.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "eventually.hpp"
#include "fleet/broker/kafka.hpp"
#include "kafka/mock_cluster.hpp"
#include "kafka/subscription.hpp"
#include "nats_server.hpp"
#include "thread_names.hpp"

namespace {

using namespace std::chrono_literals;
namespace kafka = fleet::broker::kafka;
constexpr std::int16_t offset_commit_api = 8;  // Kafka's OffsetCommit request

// The durable's records not yet committed past, as `fleet streams` shows them.
std::uint64_t uncommitted(fleet::broker::Transport& transport, const std::string& stream,
                          const std::string& durable) {
  auto streams = transport.streams();
  REQUIRE(streams.has_value());
  for (const auto& s : *streams) {
    for (const auto& c : s.consumers) {
      if (s.name == stream && c.name == durable) return c.pending;
    }
  }
  FAIL("no consumer " << durable << " on " << stream);
  return 0;
}

// librdkafka's mock cluster and a Kafka transport on it (its state in a temp dir), with the
// stream `stream` taking "<subject>.>"; `consumer` names its durable (not created here).
struct MockKafka {
  MockKafka(const std::string& stream, const std::string& subject, const std::string& durable,
            const std::function<void(kafka::Config&)>& tune = {})
      : subject(subject), consumer{.stream = stream, .durable = durable} {
    auto started = kafka::MockCluster::start(1);
    REQUIRE(started.has_value());
    cluster = std::move(*started);
    dir = fleet::test::make_temp_dir("fleet-kafka-" + subject);
    config.brokers = cluster->bootstrap_servers();
    config.state_url = "sqlite:" + (dir / "state.db").string();
    if (tune) tune(config);
    auto connected = kafka::connect(config);
    REQUIRE_MESSAGE(connected.has_value(), connected.error().message);
    transport = std::move(*connected);
    REQUIRE(transport->ensure_stream({.name = stream, .subjects = {subject + ".>"}}).has_value());
  }
  ~MockKafka() {
    transport.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
  MockKafka(const MockKafka&) = delete;
  MockKafka& operator=(const MockKafka&) = delete;

  // Publishes the bodies from..to-1 on "<subject>.x", keyed by `key(i)` when given.
  void publish(int from, int to, const std::function<std::string(int)>& key = {}) {
    for (int i = from; i < to; ++i) {
      fleet::broker::Message message;
      message.subject = subject + ".x";
      message.body = std::to_string(i);
      if (key) message.key = key(i);
      REQUIRE(transport->publish(message, 10s).has_value());
    }
  }
  std::uint64_t uncommitted() {
    return ::uncommitted(*transport, consumer.stream, consumer.durable);
  }

  std::string subject;
  fleet::broker::ConsumerConfig consumer;
  std::unique_ptr<kafka::MockCluster> cluster;
  std::filesystem::path dir;
  kafka::Config config;
  std::unique_ptr<fleet::broker::Transport> transport;
};

// A record key that sends every record to the same partition.
std::string one_partition(int) {
  return "one";
}

// Which of the bodies 0..size-1 were delivered, and how often; each delivery is acked as it
// is counted.
struct Tally {
  explicit Tally(int size) : seen(size, 0) {}
  void take(fleet::broker::Subscription& subscription, std::size_t max) {
    auto batch = subscription.fetch(max, 200ms);
    REQUIRE(batch.has_value());
    for (auto& delivery : *batch) {
      const int body = std::stoi(std::string(delivery.body()));
      REQUIRE(body >= 0);
      REQUIRE(body < static_cast<int>(seen.size()));
      if (seen[body]++ == 0) ++distinct;
      REQUIRE(delivery.ack().has_value());
    }
  }
  // Takes until `count` distinct bodies were seen; false if that did not happen within `limit`.
  bool take_until(fleet::broker::Subscription& subscription, std::size_t max, int count,
                  std::chrono::milliseconds limit = 60s) {
    return fleet::test::eventually(
        [&] {
          take(subscription, max);
          return distinct >= count;
        },
        limit);
  }
  long repeated() const {
    return std::count_if(seen.begin(), seen.end(), [](int n) { return n > 1; });
  }
  std::vector<int> seen;
  int distinct = 0;
};

// A first process handles `first` records, so the group has a committed offset.
// The next process's client skips three records as it polls them (its position moves past
// them); every record goes to one partition (the dev cluster creates 4), so the skipped records
// are the next ones of one offset sequence (later records show the hole), and all `records`
// must be delivered once and committed past.
void check_skipped_records_are_read_again(const std::string& name, int first, int records) {
  MockKafka mock(name, "skips", "reader");
  REQUIRE(mock.transport->ensure_consumer(mock.consumer).has_value());
  Tally tally(records);
  mock.publish(0, first, one_partition);
  {
    auto subscription = mock.transport->subscribe(mock.consumer);
    REQUIRE(subscription.has_value());
    REQUIRE(tally.take_until(**subscription, records, first));
    REQUIRE(fleet::test::eventually([&] { return mock.uncommitted() == 0; }));
  }
  mock.publish(first, records, one_partition);
  kafka::lose_polled_records(3);
  auto subscription = mock.transport->subscribe(mock.consumer);
  REQUIRE(subscription.has_value());
  const bool all = tally.take_until(**subscription, records, records, 30s);
  kafka::lose_polled_records(0);
  CHECK_MESSAGE(all, tally.distinct << " of " << records << " records delivered");
  CHECK(tally.repeated() == 0);
  CHECK(fleet::test::eventually([&] { return mock.uncommitted() == 0; }));
}

}  // namespace

TEST_CASE(
    "on Kafka, commits the coordinator refused are sent again until the committed offset "
    "passes every settled record") {
  MockKafka mock("COMMITS", "commits", "reader");
  auto& broker = *mock.transport;
  REQUIRE(broker.ensure_consumer(mock.consumer).has_value());
  constexpr int records = 20;
  mock.publish(0, records);
  auto subscription = broker.subscribe(mock.consumer);
  REQUIRE(subscription.has_value());
  std::vector<fleet::broker::Delivery> held;
  REQUIRE(fleet::test::eventually([&] {
    auto batch = (*subscription)->fetch(records, 200ms);
    REQUIRE(batch.has_value());
    for (auto& delivery : *batch) held.push_back(std::move(delivery));
    return held.size() == records;
  }));

  // Every commit from here is refused a few times; the settled records must still be
  // committed past without any further record being settled to trigger a commit.
  kafka::refuse_requests(*mock.cluster, offset_commit_api, 5,
                         RD_KAFKA_RESP_ERR_OFFSET_METADATA_TOO_LARGE);
  for (auto& delivery : held) REQUIRE(delivery.ack().has_value());
  const bool committed = fleet::test::eventually([&] { return mock.uncommitted() == 0; }, 20s);
  CHECK_MESSAGE(committed, mock.uncommitted() << " records uncommitted");
}

TEST_CASE(
    "on Kafka, a backlog many times the subscription's buffer is delivered whole, every record "
    "before its offset is committed past") {
  MockKafka mock("BACKLOG", "backlog", "reader", [](kafka::Config& c) {
    c.buffer_limit = 300;  // the partitions are paused and resumed about ten times
  });
  auto& broker = *mock.transport;
  REQUIRE(broker.ensure_consumer(mock.consumer).has_value());
  constexpr int records = 3000;
  mock.publish(0, records, [](int i) { return std::to_string(i % 16); });  // all partitions
  auto subscription = broker.subscribe(mock.consumer);
  REQUIRE(subscription.has_value());
  Tally tally(records);
  const bool all = tally.take_until(**subscription, 100, records, 60s);
  CHECK_MESSAGE(all, tally.distinct << " of " << records << " records delivered");
  // Nothing is delivered twice (no crash, no rebalance), and nothing is left uncommitted.
  CHECK(tally.repeated() == 0);
  CHECK(fleet::test::eventually([&] { return mock.uncommitted() == 0; }));
}

TEST_CASE(
    "on Kafka, records the client skipped are read again: the commit never passes a record "
    "that was not delivered") {
  check_skipped_records_are_read_again("SKIPS", 10, 40);
}

TEST_CASE(
    "on Kafka, with an eager or a cooperative assignor, a durable handed from one process to "
    "the next goes on after what the first settled") {
  for (const std::string assignor : {"range", "cooperative-sticky"}) {
    CAPTURE(assignor);
    MockKafka mock("HANDOVER", "handover", "worker", [&](kafka::Config& c) {
      c.assignor = assignor;
      c.session_timeout = 3s;  // the dev cluster holds each round this long less a second
    });
    auto& broker = *mock.transport;
    const auto& consumer = mock.consumer;
    REQUIRE(broker.ensure_consumer(consumer).has_value());
    constexpr int records = 20;
    mock.publish(0, records);

    // The first process settles everything it took and stops (revoking its partitions and
    // committing on the way out).
    {
      auto first = broker.subscribe(consumer);
      REQUIRE(first.has_value());
      int taken = 0;
      REQUIRE(fleet::test::eventually([&] {
        auto batch = (*first)->fetch(records, 200ms);
        REQUIRE(batch.has_value());
        for (auto& delivery : *batch) REQUIRE(delivery.ack().has_value());
        taken += static_cast<int>(batch->size());
        return taken == records;
      }));
    }
    mock.publish(records, 2 * records);

    // The next one gets the new records and none of the settled ones.
    auto next = broker.subscribe(consumer);
    REQUIRE(next.has_value());
    std::vector<std::string> bodies;
    REQUIRE(fleet::test::eventually(
        [&] {
          auto batch = (*next)->fetch(2 * records, 200ms);
          REQUIRE(batch.has_value());
          for (auto& delivery : *batch) {
            bodies.emplace_back(delivery.body());
            REQUIRE(delivery.ack().has_value());
          }
          return bodies.size() >= records;
        },
        30s));
    std::vector<std::string> expected;
    for (int i = records; i < 2 * records; ++i) expected.push_back(std::to_string(i));
    std::sort(bodies.begin(), bodies.end());  // several partitions: order aside
    std::sort(expected.begin(), expected.end());
    auto joined = [](const std::vector<std::string>& list) {
      std::string text;
      for (const auto& item : list) text += item + " ";
      return text;
    };
    CHECK(joined(bodies) == joined(expected));
  }
}

TEST_CASE("on Kafka, delivery progress tells another process which records of a durable wait") {
  MockKafka mock("PROGRESS", "progress", "steps");
  auto& broker = *mock.transport;
  // Another process (the orchestrator, say), started before the durable existed.
  auto observer = kafka::connect(mock.config);
  REQUIRE_MESSAGE(observer.has_value(), observer.error().message);
  const auto now_ms = [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  // One key, so the first five handed out are the first five sent.
  const auto one_partition = [](int) { return std::string("one-partition"); };
  // No durable yet: nothing was delivered.
  auto none = (*observer)->delivery_progress("PROGRESS", "steps");
  REQUIRE_MESSAGE(none.has_value(), none.error().message);
  CHECK_FALSE(none->caught_up);
  CHECK(none->waiting_since_ms == 0);

  const auto& consumer = mock.consumer;
  REQUIRE(broker.ensure_consumer(consumer).has_value());
  const std::int64_t first_sent = now_ms();
  mock.publish(0, 5, one_partition);
  std::this_thread::sleep_for(50ms);
  const std::int64_t second_sent = now_ms();
  mock.publish(5, 10, one_partition);

  auto before = (*observer)->delivery_progress("PROGRESS", "steps");
  REQUIRE_MESSAGE(before.has_value(), before.error().message);
  CHECK_FALSE(before->caught_up);
  CHECK(before->waiting_since_ms >= first_sent - 1);
  CHECK(before->waiting_since_ms < second_sent);

  // The first five are handed out (not settled): what waits was published after the pause.
  auto subscription = broker.subscribe(consumer);
  REQUIRE(subscription.has_value());
  std::vector<fleet::broker::Delivery> held;
  REQUIRE(fleet::test::eventually([&] {
    auto batch = (*subscription)->fetch(5 - held.size(), 200ms);
    REQUIRE(batch.has_value());
    for (auto& delivery : *batch) held.push_back(std::move(delivery));
    return held.size() == 5;
  }));
  // The counts reach the coordinator before the hand-out, or (just after the group formed,
  // when it may refuse commits) soon after.
  fleet::broker::DeliveryProgress after_five;
  CHECK(fleet::test::eventually([&] {
    auto progress = (*observer)->delivery_progress("PROGRESS", "steps");
    REQUIRE_MESSAGE(progress.has_value(), progress.error().message);
    after_five = *progress;
    return after_five.waiting_since_ms >= second_sent - 1;
  }));
  CHECK_FALSE(after_five.caught_up);

  REQUIRE(fleet::test::eventually([&] {
    auto batch = (*subscription)->fetch(10, 200ms);
    REQUIRE(batch.has_value());
    for (auto& delivery : *batch) held.push_back(std::move(delivery));
    return held.size() == 10;
  }));
  CHECK(fleet::test::eventually([&] {
    auto progress = (*observer)->delivery_progress("PROGRESS", "steps");
    REQUIRE_MESSAGE(progress.has_value(), progress.error().message);
    return progress->caught_up;
  }));
  for (auto& delivery : held) REQUIRE(delivery.ack().has_value());
}

TEST_CASE("on Kafka, a subscription's threads carry its group, the producer's its stage") {
  MockKafka mock("NAMED", "named", "reader");
  REQUIRE(mock.transport->ensure_consumer(mock.consumer).has_value());
  mock.publish(0, 1);
  auto subscription = mock.transport->subscribe(mock.consumer);
  REQUIRE(subscription.has_value());
  CHECK(fleet::test::eventually([] {
    const auto names = fleet::test::thread_names();
    return names.contains("kpoll reader") && names.contains("kcommit reader") &&
           names.contains("kproduce");
  }));
}
