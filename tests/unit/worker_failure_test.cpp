// The worker's failure paths on the memory transport: a stop with a handler still running, a
// handler that never returns, follow-ups the broker does not take, dead-letter copies too large
// for the broker, a state write the store refuses. Each waits for the outcome it checks; none
// relies on a duration.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "eventually.hpp"
#include "fleet/broker/memory.hpp"
#include "fleet/runtime/dead_letter.hpp"
#include "fleet/runtime/handler.hpp"
#include "fleet/runtime/metrics.hpp"
#include "fleet/runtime/state_write.hpp"
#include "fleet/runtime/worker.hpp"
#include "fleet/schemas/events/bench.hpp"

namespace {

using fleet::runtime::Context;
using fleet::runtime::Outcome;
using fleet::schemas::Envelope;
using fleet::schemas::Payload;
using namespace std::chrono_literals;

// A gate a handler waits at until the test opens it; shared so a handler thread that outlives
// the test case still finds it.
struct Latch {
  std::mutex mutex;
  std::condition_variable opened_cv;
  bool opened = false;
  void wait() {
    std::unique_lock lock(mutex);
    opened_cv.wait(lock, [&] { return opened; });
  }
  void open() {
    {
      std::lock_guard lock(mutex);
      opened = true;
    }
    opened_cv.notify_all();
  }
};

// Waits for a condition, never for a guessed time (tests/support/eventually.hpp).
bool eventually(const std::function<bool()>& done, std::chrono::milliseconds timeout = 30s) {
  return fleet::test::eventually(done, timeout);
}

std::string publish_event(fleet::broker::Transport& transport, const std::string& subject,
                          std::uint64_t seq, const std::string& key = {}) {
  auto meta = fleet::schemas::new_metadata(std::string(Payload::type_name));
  meta.ordering_key = key;
  const std::string id = meta.id;
  REQUIRE(transport
              .publish({.subject = subject,
                        .headers = fleet::schemas::to_headers(meta),
                        .body = fleet::schemas::encode(Payload{.seq = seq, .data = "x"}),
                        .dedup_id = id},
                       1s)
              .has_value());
  return id;
}

fleet::broker::ConsumerInfo consumer(fleet::broker::Transport& transport, const std::string& stream,
                                     const std::string& durable) {
  const auto streams = transport.streams();
  REQUIRE(streams.has_value());
  for (const auto& s : *streams) {
    if (s.name != stream) continue;
    for (const auto& c : s.consumers) {
      if (c.name == durable) return c;
    }
  }
  return {};
}

std::uint64_t stream_messages(fleet::broker::Transport& transport, const std::string& stream) {
  const auto streams = transport.streams();
  REQUIRE(streams.has_value());
  for (const auto& s : *streams) {
    if (s.name == stream) return s.messages;
  }
  return 0;
}

// The value of one sample in the worker's metrics text, -1 when absent.
long sample(const fleet::runtime::Metrics& metrics, const std::string& series) {
  const std::string text = metrics.render();
  const auto at = text.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stol(text.substr(at + series.size() + 2));
}

}  // namespace

TEST_CASE("a stop whose drain times out with a handler running neither crashes nor loses it") {
  const auto broker = fleet::broker::memory::make_broker();
  auto first_transport = fleet::broker::memory::connect(broker);
  REQUIRE(first_transport->ensure_stream({.name = "UNIT", .subjects = {"unit.>"}}).has_value());
  const auto latch = std::make_shared<Latch>();
  auto calls = std::make_shared<std::atomic<int>>(0);
  auto last_attempt = std::make_shared<std::atomic<std::uint64_t>>(0);
  auto binding = [&] {
    return fleet::runtime::Binding{
        .role = "lingering",
        .stream = "UNIT",
        .subject = "unit.in.>",
        .handler = fleet::runtime::typed<Payload>(
            [latch, calls, last_attempt](const Payload& event, Context& context) {
              *last_attempt = context.attempt();
              if (++*calls == 1) latch->wait();  // the first attempt outlives the drain
              context.publish("unit.out.x", Payload{.seq = event.seq + 1});
              return Outcome::ok();
            }),
        .ack_wait = 300ms};
  };
  auto first = std::make_unique<fleet::runtime::Worker>(
      *first_transport, fleet::runtime::WorkerConfig{.drain_timeout = 50ms, .fetch_wait = 20ms});
  REQUIRE(first->add(binding()).has_value());
  fleet::Status ran;
  {
    std::jthread running([&](std::stop_token stop) { ran = first->run(stop); });
    publish_event(*first_transport, "unit.in.x", 1);
    REQUIRE(eventually([&] { return calls->load() == 1; }));
    running.request_stop();
  }  // run() returned: SIGTERM's drain timed out with the handler still running
  CHECK(ran.has_value());
  CHECK(first->abandoned_work());
  // The process tears down under the handler, which then returns with a follow-up to publish.
  first.reset();
  first_transport.reset();
  latch->open();

  auto second_transport = fleet::broker::memory::connect(broker);
  fleet::runtime::Worker second(*second_transport, {.fetch_wait = 20ms});
  REQUIRE(second.add(binding()).has_value());
  std::jthread running([&](std::stop_token stop) { (void)second.run(stop); });
  CHECK(eventually([&] {
    const auto c = consumer(*second_transport, "UNIT", "lingering");
    return calls->load() >= 2 && c.pending == 0 && c.ack_pending == 0;
  }));
  CHECK(*last_attempt == 2);  // redelivered, not lost
  CHECK(stream_messages(*second_transport, "DLQ") == 0);
}

TEST_CASE("a handler that never returns has its lane replaced; other keys keep flowing") {
  const auto broker = fleet::broker::memory::make_broker();
  auto transport = fleet::broker::memory::connect(broker);
  REQUIRE(transport->ensure_stream({.name = "UNIT", .subjects = {"unit.>"}}).has_value());
  const auto latch = std::make_shared<Latch>();
  auto handled = std::make_shared<std::atomic<int>>(0);
  auto metrics = std::make_shared<fleet::runtime::Metrics>();
  fleet::runtime::Worker worker(*transport, {.fetch_wait = 20ms, .metrics = metrics});
  fleet::runtime::RetryPolicy retry;
  retry.max_attempts = 2;
  retry.immediate_attempts = 1;
  REQUIRE(worker
              .add({.role = "stuck",
                    .stream = "UNIT",
                    .subject = "unit.in.>",
                    .handler = fleet::runtime::typed<Payload>(
                        [latch, handled](const Payload& event, Context&) {
                          if (event.seq == 0) latch->wait();  // never returns on its own
                          ++*handled;
                          return Outcome::ok();
                        }),
                    .retry = retry,
                    .concurrency = 1,  // one lane: whatever pins it stops everything
                    // Longer than the watchdog's limit (2 x timeout + 1 s), so events queued
                    // behind the stuck one are handled before the broker sends them again.
                    .ack_wait = 3s,
                    .timeout = 20ms})
              .has_value());
  std::jthread running([&](std::stop_token stop) { (void)worker.run(stop); });
  publish_event(*transport, "unit.in.x", 0, "key-stuck");
  for (std::uint64_t seq = 1; seq <= 5; ++seq) {
    publish_event(*transport, "unit.in.x", seq, "key-" + std::to_string(seq));
  }
  CHECK(eventually([&] { return handled->load() == 5; }));
  CHECK(sample(*metrics, R"(fleet_lanes_replaced_total{role="stuck"})") >= 1);
  // Its message comes back after the ack wait, hangs again, and once past max attempts is
  // dead-lettered as a poison pill without running; no in-flight slot stays taken.
  CHECK(eventually([&] { return stream_messages(*transport, "DLQ") == 1; }));
  CHECK(eventually([&] {
    const auto c = consumer(*transport, "UNIT", "stuck");
    return c.pending == 0 && c.ack_pending == 0 &&
           sample(*metrics, R"(fleet_in_flight{role="stuck"})") == 0;
  }));
  CHECK(sample(*metrics, R"(fleet_lanes_replaced_total{role="stuck"})") == 2);
  CHECK(handled->load() == 5);
  running.request_stop();
  running.join();
  CHECK(worker.abandoned_work());  // the stuck threads are still waiting
  latch->open();
}

TEST_CASE("follow-ups the broker refuses hold their message without spending its attempts") {
  const auto broker = fleet::broker::memory::make_broker();
  auto transport = fleet::broker::memory::connect(broker);
  REQUIRE(transport->ensure_stream({.name = "UNIT", .subjects = {"unit.>"}}).has_value());
  auto calls = std::make_shared<std::atomic<int>>(0);
  auto metrics = std::make_shared<fleet::runtime::Metrics>();
  fleet::runtime::Worker worker(*transport, {.fetch_wait = 20ms, .metrics = metrics});
  fleet::runtime::RetryPolicy retry;
  retry.max_attempts = 2;
  retry.initial_backoff = 1ms;
  retry.max_backoff = 20ms;
  REQUIRE(worker
              .add({.role = "forward",
                    .stream = "UNIT",
                    .subject = "unit.in.>",
                    .handler = fleet::runtime::typed<Payload>(
                        [calls](const Payload& event, Context& context) {
                          ++*calls;
                          // No stream stores "later.>" yet: the broker refuses the publish.
                          context.publish("later.x", Payload{.seq = event.seq});
                          return Outcome::ok();
                        }),
                    .retry = retry,
                    .ack_wait = 200ms})
              .has_value());
  std::jthread running([&](std::stop_token stop) { (void)worker.run(stop); });
  publish_event(*transport, "unit.in.x", 1);
  // Refused again and again, far more often than max attempts would allow redeliveries.
  REQUIRE(eventually(
      [&] { return sample(*metrics, R"(fleet_publish_errors_total{role="forward"})") >= 5; }));
  REQUIRE(transport->ensure_stream({.name = "LATER", .subjects = {"later.>"}}).has_value());
  CHECK(eventually([&] {
    const auto c = consumer(*transport, "UNIT", "forward");
    return stream_messages(*transport, "LATER") == 1 && c.pending == 0 && c.ack_pending == 0;
  }));
  CHECK(calls->load() == 1);
  CHECK(stream_messages(*transport, "DLQ") == 0);
}

// A worker whose handlers forward every "unit.in.>" event to "later.x", which no stream stores
// until the test creates LATER: their deliveries wait in the confirmations stage, held.
struct Forwarder {
  std::shared_ptr<fleet::broker::memory::Broker> broker = fleet::broker::memory::make_broker();
  std::unique_ptr<fleet::broker::Transport> transport = fleet::broker::memory::connect(broker);
  std::shared_ptr<std::atomic<int>> calls = std::make_shared<std::atomic<int>>(0);
  std::shared_ptr<fleet::runtime::Metrics> metrics = std::make_shared<fleet::runtime::Metrics>();
  fleet::runtime::Worker worker{*transport, {.fetch_wait = 20ms, .metrics = metrics}};

  Forwarder(int max_in_flight, int max_settling) {
    REQUIRE(transport->ensure_stream({.name = "UNIT", .subjects = {"unit.>"}}).has_value());
    REQUIRE(worker
                .add({.role = "forward",
                      .stream = "UNIT",
                      .subject = "unit.in.>",
                      .handler = fleet::runtime::typed<Payload>(
                          [calls = calls](const Payload& event, Context& context) {
                            ++*calls;
                            context.publish("later.x", Payload{.seq = event.seq});
                            return Outcome::ok();
                          }),
                      .max_in_flight = max_in_flight,
                      .max_settling = max_settling,
                      .ack_wait = 200ms})
                .has_value());
  }
  long publish_errors() const {
    return sample(*metrics, R"(fleet_publish_errors_total{role="forward"})");
  }
  void publish(int count) {
    for (int seq = 1; seq <= count; ++seq) {
      publish_event(*transport, "unit.in.x", static_cast<std::uint64_t>(seq));
    }
  }
  // Creates LATER and waits until `count` follow-ups are stored and every input acked.
  bool all_stored_once_later_exists(std::uint64_t count) {
    if (!transport->ensure_stream({.name = "LATER", .subjects = {"later.>"}})) return false;
    return eventually([&] {
      const auto c = consumer(*transport, "UNIT", "forward");
      return stream_messages(*transport, "LATER") == count && c.pending == 0 && c.ack_pending == 0;
    });
  }
};

TEST_CASE("messages waiting for their follow-ups' confirmations leave room for other handlers") {
  Forwarder forwarder(/*max_in_flight=*/1, /*max_settling=*/8);
  std::jthread running([&](std::stop_token stop) { (void)forwarder.worker.run(stop); });
  forwarder.publish(3);
  // With one place in flight, the three handlers ran while the first two still waited for
  // the broker: handled messages waiting for confirmations do not hold a handler's place.
  REQUIRE(eventually([&] { return forwarder.calls->load() == 3; }));
  CHECK(forwarder.all_stored_once_later_exists(3));
  CHECK(forwarder.calls->load() == 3);
  CHECK(stream_messages(*forwarder.transport, "DLQ") == 0);
}

TEST_CASE("messages waiting for confirmations are bounded by max_settling, and none is lost") {
  Forwarder forwarder(/*max_in_flight=*/1, /*max_settling=*/1);
  std::jthread running([&](std::stop_token stop) { (void)forwarder.worker.run(stop); });
  forwarder.publish(5);
  // Held through many rounds of refused publishes, the worker took only what its two places
  // (one in flight, one settling) allow; the rest waits in the stream, unattempted.
  REQUIRE(eventually([&] { return forwarder.publish_errors() >= 12; }));
  CHECK(forwarder.calls->load() == 2);
  CHECK(consumer(*forwarder.transport, "UNIT", "forward").pending == 3);
  CHECK(forwarder.all_stored_once_later_exists(5));
  CHECK(forwarder.calls->load() == 5);
  CHECK(stream_messages(*forwarder.transport, "DLQ") == 0);
}

TEST_CASE(
    "a handler whose store is unreachable is held, not dead-lettered, and runs on attempt 1") {
  const auto broker = fleet::broker::memory::make_broker();
  auto transport = fleet::broker::memory::connect(broker);
  REQUIRE(transport->ensure_stream({.name = "UNIT", .subjects = {"unit.>"}}).has_value());
  // The store comes back once the handler found it unreachable 8 times (max attempts is 2).
  struct Seen {
    std::mutex mutex;
    std::vector<std::uint64_t> attempts;
  };
  auto seen = std::make_shared<Seen>();
  auto metrics = std::make_shared<fleet::runtime::Metrics>();
  fleet::runtime::Worker worker(*transport, {.fetch_wait = 20ms, .metrics = metrics});
  fleet::runtime::RetryPolicy retry;
  retry.max_attempts = 2;
  retry.initial_backoff = 1ms;
  retry.max_backoff = 5ms;
  REQUIRE(
      worker
          .add({.role = "store",
                .stream = "UNIT",
                .subject = "unit.in.>",
                .handler = fleet::runtime::typed<Payload>([seen](const Payload&, Context& context) {
                  std::lock_guard lock(seen->mutex);
                  seen->attempts.push_back(context.attempt());
                  if (seen->attempts.size() <= 8) {
                    return Outcome::failed({fleet::Errc::unavailable, "no responders"}, "store");
                  }
                  return Outcome::ok();
                }),
                .retry = retry,
                .ack_wait = 200ms})
          .has_value());
  std::jthread running([&](std::stop_token stop) { (void)worker.run(stop); });
  publish_event(*transport, "unit.in.x", 1);
  const std::string handled = R"(fleet_messages_handled_total{role="store",subject="unit.in.>"})";
  REQUIRE(eventually([&] {
    const auto c = consumer(*transport, "UNIT", "store");
    return sample(*metrics, handled) == 1 && c.pending == 0 && c.ack_pending == 0;
  }));
  std::lock_guard lock(seen->mutex);
  CHECK(seen->attempts == std::vector<std::uint64_t>(9, 1));
  CHECK(stream_messages(*transport, "DLQ") == 0);
  CHECK(sample(*metrics, R"(fleet_messages_held_total{role="store",reason="store"})") == 8);
}

TEST_CASE("a worker holding a message for an unreachable store stops at once and leaves it") {
  const auto broker = fleet::broker::memory::make_broker();
  auto transport = fleet::broker::memory::connect(broker);
  REQUIRE(transport->ensure_stream({.name = "UNIT", .subjects = {"unit.>"}}).has_value());
  auto calls = std::make_shared<std::atomic<int>>(0);
  auto handler = [calls](const Payload&, Context&) {
    ++*calls;
    return Outcome::unavailable("no responders", "store");
  };
  fleet::runtime::RetryPolicy retry;
  retry.initial_backoff = 60s;  // a held round waits far longer than the test
  retry.max_backoff = 60s;
  {
    fleet::runtime::Worker worker(*transport, {.fetch_wait = 20ms});
    REQUIRE(worker
                .add({.role = "store",
                      .stream = "UNIT",
                      .subject = "unit.in.>",
                      .handler = fleet::runtime::typed<Payload>(handler),
                      .retry = retry,
                      .ack_wait = 120s})
                .has_value());
    std::jthread running([&](std::stop_token stop) { (void)worker.run(stop); });
    publish_event(*transport, "unit.in.x", 1);
    REQUIRE(eventually([&] { return calls->load() >= 1; }));
    running.request_stop();
    running.join();  // returns without waiting out the 60 s hold
  }
  // Left unsettled, never acked nor dead-lettered: the broker still owes it to the durable.
  const auto c = consumer(*transport, "UNIT", "store");
  CHECK(c.ack_pending == 1);
  CHECK(stream_messages(*transport, "DLQ") == 0);
  CHECK(calls->load() == 1);
}

TEST_CASE("an ack the broker refuses is logged and counted, not dropped silently") {
  const auto broker = fleet::broker::memory::make_broker();
  auto transport = fleet::broker::memory::connect(broker);
  auto admin = fleet::broker::memory::connect(broker);
  REQUIRE(transport->ensure_stream({.name = "UNIT", .subjects = {"unit.>"}}).has_value());
  auto metrics = std::make_shared<fleet::runtime::Metrics>();
  fleet::runtime::Worker worker(*transport, {.fetch_wait = 20ms, .metrics = metrics});
  auto handled = std::make_shared<std::atomic<int>>(0);
  fleet::broker::Transport* broker_admin = admin.get();
  REQUIRE(worker
              .add({.role = "gone",
                    .stream = "UNIT",
                    .subject = "unit.in.>",
                    .handler = fleet::runtime::typed<Payload>([=](const Payload&, Context&) {
                      // The durable disappears under the handler: its ack has nowhere to go.
                      if (broker_admin->remove_consumer("UNIT", "gone")) ++*handled;
                      return Outcome::ok();
                    })})
              .has_value());
  std::jthread running([&](std::stop_token stop) { (void)worker.run(stop); });
  publish_event(*transport, "unit.in.x", 1);
  CHECK(eventually([&] {
    return sample(*metrics, R"(fleet_settle_failures_total{role="gone",settle="ack"})") == 1;
  }));
  CHECK(handled->load() == 1);
}

namespace {

// A delivery to build dead-letter copies from.
class Unsettled final : public fleet::broker::Delivery::Handle {
 public:
  fleet::Status ack() override { return {}; }
  fleet::Status retry_after(std::chrono::milliseconds) override { return {}; }
  fleet::Status in_progress() override { return {}; }
  fleet::Status terminate() override { return {}; }
};

}  // namespace

TEST_CASE("a dead-letter copy trimmed to fit keeps the event and says what was cut") {
  namespace dlq = fleet::schemas::dlq_header;
  const fleet::broker::Message original{.subject = "orders.placed",
                                        .headers = {{"Fleet-Id", "e1"}},
                                        .body = std::string(1000, 'b'),
                                        .dedup_id = "e1"};
  const fleet::broker::Delivery delivery(original, 3, 42, std::make_unique<Unsettled>());
  const fleet::runtime::Failure failure{.error_class = "decode",
                                        .message = std::string(300, 'm'),
                                        .role = "orders",
                                        .worker = "host:1"};
  const fleet::runtime::DeadLetterConfig config;
  auto header = [](const fleet::broker::Message& m, std::string_view name) {
    return std::string(fleet::header(m.headers, name).value_or("<absent>"));
  };

  const auto full = fleet::runtime::dead_letter_message(config, delivery, failure);
  CHECK(header(full, dlq::trimmed) == "<absent>");
  CHECK(header(full, dlq::error_message).size() == 300);

  const auto headers =
      fleet::runtime::dead_letter_message(config, delivery, failure, fleet::runtime::Trim::headers);
  CHECK(header(headers, dlq::trimmed) == "headers");
  CHECK(headers.body == original.body);
  CHECK(header(headers, "Fleet-Id") == "e1");
  for (auto kept :
       {dlq::original_subject, dlq::stream_sequence, dlq::error_class, dlq::attempts, dlq::role}) {
    CHECK_MESSAGE(header(headers, kept) == header(full, kept), kept);
  }
  CHECK(header(headers, dlq::error_message) == std::string(32, 'm'));
  CHECK(header(headers, dlq::worker) == "<absent>");
  CHECK(headers.dedup_id == full.dedup_id);
  std::size_t full_bytes = 0, trimmed_bytes = 0;
  for (const auto& [name, value] : full.headers) full_bytes += name.size() + value.size();
  for (const auto& [name, value] : headers.headers) trimmed_bytes += name.size() + value.size();
  CHECK(trimmed_bytes < full_bytes);

  const auto body =
      fleet::runtime::dead_letter_message(config, delivery, failure, fleet::runtime::Trim::body);
  CHECK(header(body, dlq::trimmed) == "headers,body");
  CHECK(header(body, dlq::original_body_bytes) == "1000");
  CHECK(body.body.empty());
  CHECK(header(body, dlq::error_class) == "decode");
}

// The inbox answers of a fetched batch are read before its events are handled. A copy of an
// event (here a duplicate publish under the same event id) fetched while the event is being
// handled is answered "not seen"; it must still not run the handler once the event's inbox
// entry is stored and the event has left the worker's memory of what it is settling.
TEST_CASE("a copy fetched while its event is handled is not handled again after the inbox write") {
  const auto broker = fleet::broker::memory::make_broker();
  auto transport = fleet::broker::memory::connect(broker);
  REQUIRE(transport->ensure_stream({.name = "UNIT", .subjects = {"unit.>"}}).has_value());
  const auto latch = std::make_shared<Latch>();
  auto metrics = std::make_shared<fleet::runtime::Metrics>();
  auto first_runs = std::make_shared<std::atomic<int>>(0);
  auto in_flight = [metrics] { return sample(*metrics, R"(fleet_in_flight{role="twin"})"); };
  fleet::runtime::Worker worker(*transport, {.fetch_wait = 20ms, .metrics = metrics});
  REQUIRE(worker
              .add({.role = "twin",
                    .stream = "UNIT",
                    .subject = "unit.twin.>",
                    .handler = fleet::runtime::typed<Payload>(
                        [latch, first_runs, in_flight](const Payload& event, Context&) {
                          if (event.seq == 0) {
                            ++*first_runs;
                            latch->wait();
                          } else {
                            // Queued behind the event on its lane: runs once the event is
                            // settled and released (its copy is still in flight behind this).
                            fleet::test::eventually([&] { return in_flight() == 2; });
                          }
                          return Outcome::ok();
                        }),
                    .concurrency = 1})
              .has_value());
  auto meta = fleet::schemas::new_metadata(std::string(Payload::type_name));
  meta.ordering_key = "one-key";
  const auto publish = [&](std::uint64_t seq, const fleet::schemas::Metadata& m,
                           const std::string& dedup_id) {
    REQUIRE(transport
                ->publish({.subject = "unit.twin.x",
                           .headers = fleet::schemas::to_headers(m),
                           .body = fleet::schemas::encode(Payload{.seq = seq, .data = "x"}),
                           .dedup_id = dedup_id},
                          1s)
                .has_value());
  };
  auto next = fleet::schemas::new_metadata(std::string(Payload::type_name));
  next.ordering_key = "one-key";
  publish(0, meta, meta.id);
  publish(1, next, next.id);
  std::jthread running([&](std::stop_token stop) { (void)worker.run(stop); });
  REQUIRE(eventually([&] { return first_runs->load() == 1 && in_flight() == 2; }));
  publish(0, meta, meta.id + "-copy");  // the same event again, as a second stream message
  REQUIRE(eventually([&] { return in_flight() == 3; }));
  latch->open();

  REQUIRE(eventually([&] {
    const auto c = consumer(*transport, "UNIT", "twin");
    return c.pending == 0 && c.ack_pending == 0 && in_flight() == 0;
  }));
  CHECK(first_runs->load() == 1);
  CHECK(sample(*metrics, R"(fleet_inbox_hits_total{role="twin"})") == 1);
  running.request_stop();
  running.join();
}

TEST_CASE(
    "a state write refused by the store drops its follow-ups; the message is handled again on "
    "the stored state without spending an attempt") {
  const auto broker = fleet::broker::memory::make_broker();
  auto transport = fleet::broker::memory::connect(broker);
  REQUIRE(transport->ensure_stream({.name = "UNIT", .subjects = {"unit.>"}}).has_value());
  REQUIRE(transport->ensure_stream({.name = "FIRST", .subjects = {"first.>"}}).has_value());
  REQUIRE(transport->ensure_stream({.name = "SECOND", .subjects = {"second.>"}}).has_value());
  auto opened = transport->key_value({.name = "counts"});
  REQUIRE(opened.has_value());
  std::shared_ptr<fleet::broker::KeyValue> counts(std::move(*opened));
  // Another process counted to 5 already; this handler's first try does not know.
  REQUIRE(counts->create("count", "5").has_value());

  struct Seen {
    std::mutex mutex;
    std::vector<std::uint64_t> attempts;
    bool refused = false;  // set by the refused write's answer: read the store next time
  };
  auto seen = std::make_shared<Seen>();
  fleet::runtime::Worker worker(*transport, {.fetch_wait = 20ms});
  REQUIRE(worker
              .add({.role = "counter",
                    .stream = "UNIT",
                    .subject = "unit.in.>",
                    .handler = fleet::runtime::typed<Payload>(
                        [seen, counts](const Payload&, Context& context) {
                          bool read_store = false;
                          {
                            std::lock_guard lock(seen->mutex);
                            seen->attempts.push_back(context.attempt());
                            read_store = seen->refused;
                          }
                          std::uint64_t count = 0, revision = 0;  // first try: "no count yet"
                          if (read_store) {
                            auto stored = counts->get("count");
                            if (!stored || !*stored) return Outcome::retry("count unreadable");
                            count = std::stoull((*stored)->value);
                            revision = (*stored)->revision;
                          }
                          context.write_first(fleet::runtime::StateWrite(
                              counts, "count", std::to_string(count + 1), revision,
                              [seen](const fleet::Result<std::uint64_t>& written) {
                                std::lock_guard lock(seen->mutex);
                                seen->refused = !written;
                              }));
                          // Decided on the count: must not go out unless the count is stored.
                          context.publish(read_store ? "second.x" : "first.x",
                                          Payload{.seq = count + 1});
                          return Outcome::ok();
                        }),
                    .ack_wait = 30s,
                    .inbox = false})
              .has_value());
  std::jthread running([&](std::stop_token stop) { (void)worker.run(stop); });
  publish_event(*transport, "unit.in.x", 1);
  REQUIRE(eventually([&] {
    const auto c = consumer(*transport, "UNIT", "counter");
    return stream_messages(*transport, "SECOND") == 1 && c.pending == 0 && c.ack_pending == 0;
  }));
  CHECK(stream_messages(*transport, "FIRST") == 0);
  auto stored = counts->get("count");
  REQUIRE(stored.has_value());
  REQUIRE(stored->has_value());
  CHECK((*stored)->value == "6");
  std::lock_guard lock(seen->mutex);
  CHECK(seen->attempts == std::vector<std::uint64_t>{1, 1});
  CHECK(stream_messages(*transport, "DLQ") == 0);
}

TEST_CASE("a held delivery reaches its handler once, not before it is due") {
  const auto broker = fleet::broker::memory::make_broker();
  auto transport = fleet::broker::memory::connect(broker);
  REQUIRE(transport->ensure_stream({.name = "UNIT", .subjects = {"unit.>"}}).has_value());
  using Steady = std::chrono::steady_clock;
  const auto due = std::make_shared<Steady::time_point>(Steady::now() + 300ms);
  struct Seen {
    std::mutex mutex;
    std::vector<std::uint64_t> attempts;
    bool early = false;
  };
  auto seen = std::make_shared<Seen>();
  fleet::runtime::Binding binding{
      .role = "held",
      .stream = "UNIT",
      .subject = "unit.in.>",
      .handler = fleet::runtime::typed<Payload>([seen, due](const Payload&, Context& context) {
        std::lock_guard lock(seen->mutex);
        seen->attempts.push_back(context.attempt());
        seen->early = seen->early || Steady::now() < *due;
        return Outcome::ok();
      }),
      .ack_wait = 30s};
  binding.hold_for = [due](const fleet::broker::Delivery&) {
    return std::chrono::ceil<std::chrono::milliseconds>(*due - Steady::now());
  };
  fleet::runtime::Worker worker(*transport, {.fetch_wait = 20ms});
  REQUIRE(worker.add(std::move(binding)).has_value());
  std::jthread running([&](std::stop_token stop) { (void)worker.run(stop); });
  publish_event(*transport, "unit.in.x", 1);
  REQUIRE(eventually([&] {
    const auto c = consumer(*transport, "UNIT", "held");
    return c.pending == 0 && c.ack_pending == 0;
  }));
  std::lock_guard lock(seen->mutex);
  CHECK(seen->attempts == std::vector<std::uint64_t>{1});  // held, not deferred and redelivered
  CHECK_FALSE(seen->early);
}

TEST_CASE("a stop hands a held delivery back to the broker; the next worker handles it once") {
  const auto broker = fleet::broker::memory::make_broker();
  auto first_transport = fleet::broker::memory::connect(broker);
  REQUIRE(first_transport->ensure_stream({.name = "UNIT", .subjects = {"unit.>"}}).has_value());
  // Held for minutes, until the test says it is due (at the stop: the rest of its hold is 0).
  auto hold = std::make_shared<std::atomic<long>>(5 * 60 * 1000);
  auto attempts = std::make_shared<std::vector<std::uint64_t>>();
  auto attempts_mutex = std::make_shared<std::mutex>();
  auto binding = [&] {
    fleet::runtime::Binding b{.role = "held",
                              .stream = "UNIT",
                              .subject = "unit.in.>",
                              .handler = fleet::runtime::typed<Payload>(
                                  [attempts, attempts_mutex](const Payload&, Context& context) {
                                    std::lock_guard lock(*attempts_mutex);
                                    attempts->push_back(context.attempt());
                                    return Outcome::ok();
                                  }),
                              .ack_wait = 30min};
    b.hold_for = [hold](const fleet::broker::Delivery&) {
      return std::chrono::milliseconds(hold->load());
    };
    return b;
  };
  {
    fleet::runtime::Worker first(*first_transport, {.fetch_wait = 20ms});
    REQUIRE(first.add(binding()).has_value());
    std::jthread running([&](std::stop_token stop) { (void)first.run(stop); });
    publish_event(*first_transport, "unit.in.x", 1);
    REQUIRE(
        eventually([&] { return consumer(*first_transport, "UNIT", "held").ack_pending == 1; }));
    *hold = 0;
    running.request_stop();
  }  // run() returned although its fetch thread was holding a delivery for minutes
  {
    std::lock_guard lock(*attempts_mutex);
    CHECK(attempts->empty());
  }
  auto second_transport = fleet::broker::memory::connect(broker);
  fleet::runtime::Worker second(*second_transport, {.fetch_wait = 20ms});
  REQUIRE(second.add(binding()).has_value());
  std::jthread running([&](std::stop_token stop) { (void)second.run(stop); });
  CHECK(eventually([&] {
    const auto c = consumer(*second_transport, "UNIT", "held");
    return c.pending == 0 && c.ack_pending == 0;
  }));
  std::lock_guard lock(*attempts_mutex);
  CHECK(attempts->size() == 1);
}
