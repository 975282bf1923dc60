#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>

#include "eventually.hpp"
#include "fleet/broker/memory.hpp"
#include "fleet/runtime/handler.hpp"
#include "fleet/runtime/middleware.hpp"
#include "fleet/runtime/worker.hpp"
#include "fleet/schemas/events/bench.hpp"
#include "order_fulfilment/orders.hpp"

namespace {

using fleet::runtime::Context;
using fleet::runtime::Outcome;
using fleet::schemas::Envelope;
using fleet::schemas::Payload;
using namespace std::chrono_literals;

Envelope payload_envelope(std::uint64_t seq = 1) {
  return {.meta = fleet::schemas::new_metadata(std::string(Payload::type_name)),
          .body = fleet::schemas::encode(Payload{.seq = seq, .data = "x"})};
}

fleet::schemas::Metadata meta_of(const fleet::broker::Message& message) {
  auto meta = fleet::schemas::metadata_from_headers(message.headers);
  REQUIRE(meta.has_value());
  return *meta;
}

std::string trace_id(const std::string& traceparent) {
  REQUIRE(traceparent.size() == 55);
  return traceparent.substr(3, 32);
}

}  // namespace

TEST_CASE("typed handlers turn an undecodable body or a wrong type into a permanent decode error") {
  int calls = 0;
  auto handler = fleet::runtime::typed<Payload>([&](const Payload&, Context&) {
    ++calls;
    return Outcome::ok();
  });
  auto envelope = payload_envelope();
  Context context(envelope.meta, 1, "unit");

  SUBCASE("a body that is not msgpack") {
    envelope.body = "\xc1 not msgpack";
  }
  SUBCASE("a body of another type") {
    envelope.meta.type = std::string(fleet::schemas::OrderPlaced::type_name);
    envelope.body = fleet::schemas::encode(fleet::schemas::OrderPlaced{});
  }
  SUBCASE("the right type name over the wrong fields") {
    envelope.body = fleet::schemas::encode(fleet::schemas::OrderPlaced{});
  }
  const auto outcome = handler(envelope, context);
  CHECK(outcome.kind == Outcome::Kind::permanent);
  CHECK(outcome.error_class == "decode");
  CHECK(!outcome.message.empty());
  CHECK(calls == 0);
}

TEST_CASE("typed handlers pass a decodable event through") {
  auto handler = fleet::runtime::typed<Payload>([](const Payload& event, Context&) {
    return event.seq == 42 ? Outcome::ok() : Outcome::permanent("wrong seq");
  });
  const auto envelope = payload_envelope(42);
  Context context(envelope.meta, 1, "unit");
  CHECK(handler(envelope, context).succeeded());
}

TEST_CASE("follow-ups inherit correlation and trace, are caused by the incoming event") {
  auto incoming = fleet::schemas::new_metadata(std::string(Payload::type_name));
  incoming.ordering_key = "k-1";
  Context context(incoming, 1, "unit");
  context.publish("unit.out.a", Payload{.seq = 1});
  context.publish("unit.out.b", Payload{.seq = 2}, "k-2");
  REQUIRE(context.follow_ups().size() == 2);

  const auto& first = context.follow_ups()[0];
  const auto meta = meta_of(first);
  CHECK(first.subject == "unit.out.a");
  CHECK(meta.type == Payload::type_name);
  CHECK(meta.correlation_id == incoming.correlation_id);
  CHECK(meta.causation_id == incoming.id);
  CHECK(trace_id(meta.traceparent) == trace_id(incoming.traceparent));
  CHECK(meta.traceparent != incoming.traceparent);  // a span of its own
  CHECK(meta.ordering_key == "k-1");
  CHECK(meta.id == fleet::runtime::follow_up_id(incoming.id, "unit", 0));
  CHECK(first.dedup_id == meta.id);
  CHECK(fleet::schemas::decode<Payload>(first.body)->seq == 1);

  const auto second = meta_of(context.follow_ups()[1]);
  CHECK(second.ordering_key == "k-2");
  CHECK(second.id != meta.id);

  context.discard_follow_ups();
  CHECK(context.follow_ups().empty());
}

TEST_CASE("follow-up ids are deterministic in cause, role and position") {
  using fleet::runtime::follow_up_id;
  const auto cause = fleet::schemas::new_event_id();
  CHECK(follow_up_id(cause, "payment", 0) == follow_up_id(cause, "payment", 0));
  CHECK(follow_up_id(cause, "payment", 0).size() == 32);
  CHECK(follow_up_id(cause, "payment", 0) != follow_up_id(cause, "payment", 1));
  CHECK(follow_up_id(cause, "payment", 0) != follow_up_id(cause, "shipping", 0));
  CHECK(follow_up_id(cause, "payment", 0) !=
        follow_up_id(fleet::schemas::new_event_id(), "payment", 0));
  // Pinned: ids published by an earlier release must come out the same after an upgrade, or a
  // handler re-run across the upgrade would publish its follow-ups twice.
  CHECK(follow_up_id("0123456789abcdef0123456789abcdef", "payment", 7) ==
        "be43720c690b455a3be5de8c7c98c15c");

  // A re-run of the handler (a fresh context for the same event) stages the same ids.
  const auto incoming = fleet::schemas::new_metadata("unit.Cause");
  Context run1(incoming, 1, "payment"), run2(incoming, 2, "payment");
  run1.publish("unit.out", Payload{});
  run2.publish("unit.out", Payload{});
  CHECK(meta_of(run1.follow_ups()[0]).id == meta_of(run2.follow_ups()[0]).id);
}

TEST_CASE("recover turns an exception into a retryable failure of class exception") {
  auto handler = fleet::runtime::chain(
      [](const Envelope&, Context&) -> Outcome { throw std::runtime_error("boom"); },
      {fleet::runtime::recover()});
  const auto envelope = payload_envelope();
  Context context(envelope.meta, 1, "unit");
  const auto outcome = handler(envelope, context);
  CHECK(outcome.kind == Outcome::Kind::retry);
  CHECK(outcome.error_class == "exception");
  CHECK(outcome.message == "boom");
}

TEST_CASE("immediate retry tries in process and drops what a failed try staged") {
  int tries = 0;
  auto handler = fleet::runtime::chain(
      [&](const Envelope&, Context& context) {
        context.publish("unit.out", Payload{.seq = static_cast<std::uint64_t>(++tries)});
        return tries < 3 ? Outcome::retry("not yet") : Outcome::ok();
      },
      {fleet::runtime::immediate_retry({.immediate_attempts = 3})});
  const auto envelope = payload_envelope();
  Context context(envelope.meta, 1, "unit");
  CHECK(handler(envelope, context).succeeded());
  CHECK(tries == 3);
  REQUIRE(context.follow_ups().size() == 1);
  CHECK(fleet::schemas::decode<Payload>(context.follow_ups()[0].body)->seq == 3);

  tries = -10;  // never reaches 3 within the budget
  Context failing(envelope.meta, 1, "unit");
  CHECK(handler(envelope, failing).kind == Outcome::Kind::retry);
  CHECK(tries == -7);
}

TEST_CASE(
    "an attempt past its timeout fails as timeout and publishes nothing; a quick one passes") {
  // A manual clock: each handler call advances it by `took`.
  auto clock = std::chrono::steady_clock::time_point{} + 1h;
  auto took = 0ms;
  std::chrono::steady_clock::time_point seen_deadline;
  auto handler = fleet::runtime::chain(
      [&](const Envelope&, Context& context) {
        seen_deadline = context.deadline();
        context.publish("unit.out", Payload{});
        clock += took;
        return Outcome::ok();
      },
      {fleet::runtime::timeout(100ms, [&] { return clock; })});
  const auto envelope = payload_envelope();

  took = 100ms;
  Context quick(envelope.meta, 1, "unit");
  CHECK(handler(envelope, quick).succeeded());
  CHECK(quick.follow_ups().size() == 1);
  CHECK(seen_deadline == clock - took + 100ms);

  took = 101ms;
  Context slow(envelope.meta, 1, "unit");
  const auto outcome = handler(envelope, slow);
  CHECK(outcome.kind == Outcome::Kind::retry);
  CHECK(outcome.error_class == "timeout");
  CHECK(outcome.message == "handler took 101 ms (timeout 100 ms)");
  CHECK(slow.follow_ups().empty());
}

TEST_CASE("a worker acks a handled event and publishes its follow-up (memory transport)") {
  auto transport = fleet::broker::memory::connect(fleet::broker::memory::make_broker());
  REQUIRE(transport->ensure_stream({.name = "UNIT", .subjects = {"unit.>"}}).has_value());
  std::atomic<int> calls = 0;
  fleet::runtime::Worker worker(*transport, {.fetch_wait = 20ms});
  REQUIRE(worker
              .add({.role = "echo",
                    .stream = "UNIT",
                    .subject = "unit.in.>",
                    .handler =
                        fleet::runtime::typed<Payload>([&](const Payload& event, Context& context) {
                          ++calls;
                          context.publish("unit.out.x", Payload{.seq = event.seq + 1});
                          return Outcome::ok();
                        }),
                    .ack_wait = 200ms})
              .has_value());
  fleet::Status ran;
  std::jthread runner([&](std::stop_token stop) { ran = worker.run(stop); });

  const auto incoming = payload_envelope(7);
  REQUIRE(transport
              ->publish({.subject = "unit.in.x",
                         .headers = fleet::schemas::to_headers(incoming.meta),
                         .body = incoming.body,
                         .dedup_id = incoming.meta.id},
                        1s)
              .has_value());

  fleet::broker::ConsumerConfig reader{
      .stream = "UNIT", .durable = "reader", .filter_subject = "unit.out.>"};
  REQUIRE(transport->ensure_consumer(reader).has_value());
  auto subscription = transport->subscribe(reader);
  REQUIRE(subscription.has_value());
  auto batch = (*subscription)->fetch(10, 10s);
  REQUIRE(batch.has_value());
  REQUIRE(batch->size() == 1);
  const auto& out = batch->front().message();
  CHECK(meta_of(out).causation_id == incoming.meta.id);
  CHECK(fleet::schemas::decode<Payload>(out.body)->seq == 8);

  // Acked: the durable drains. With nothing pending and nothing awaiting an ack the broker holds
  // no delivery it could hand out again, so the handler ran once and stays at once.
  auto acked = [&] {
    const auto streams = transport->streams();
    REQUIRE(streams.has_value());
    for (const auto& stream : *streams) {
      for (const auto& c : stream.consumers) {
        if (c.name == "echo") return c.pending == 0 && c.ack_pending == 0;
      }
    }
    return false;
  };
  REQUIRE(fleet::test::eventually(acked, 10s));
  CHECK(calls == 1);

  runner.request_stop();
  runner.join();
  CHECK(ran.has_value());
}

TEST_CASE("a binding whose admission says 0 leaves messages in the stream, unattempted") {
  auto transport = fleet::broker::memory::connect(fleet::broker::memory::make_broker());
  REQUIRE(transport->ensure_stream({.name = "UNIT", .subjects = {"unit.>"}}).has_value());
  std::atomic<int> calls = 0;
  std::atomic<std::size_t> admit = 0;
  std::atomic<int> asked = 0;
  fleet::runtime::Worker worker(*transport, {.fetch_wait = 20ms});
  REQUIRE(worker
              .add({.role = "gated",
                    .stream = "UNIT",
                    .subject = "unit.in.>",
                    .handler =
                        [&](const Envelope&, Context&) {
                          ++calls;
                          return Outcome::ok();
                        },
                    .inbox = false,
                    .admission = [&]() -> std::size_t {
                      ++asked;
                      return admit.load();
                    }})
              .has_value());
  for (std::uint64_t i = 1; i <= 5; ++i) {
    const auto envelope = payload_envelope(i);
    REQUIRE(transport
                ->publish({.subject = "unit.in.x",
                           .headers = fleet::schemas::to_headers(envelope.meta),
                           .body = envelope.body,
                           .dedup_id = envelope.meta.id},
                          1s)
                .has_value());
  }
  auto pending = [&] {
    const auto streams = transport->streams();
    REQUIRE(streams.has_value());
    for (const auto& stream : *streams) {
      for (const auto& c : stream.consumers) {
        if (c.name == "gated") return c.pending;
      }
    }
    return std::uint64_t{0};
  };
  std::jthread runner([&](std::stop_token stop) { (void)worker.run(stop); });
  auto wait_for = [](const std::function<bool()>& condition) {
    return fleet::test::eventually(condition, 10s);
  };
  // Closed: the fetcher keeps asking, and takes nothing.
  REQUIRE(wait_for([&] { return asked.load() >= 3; }));
  CHECK(calls == 0);
  CHECK(pending() == 5);
  // Two admitted at a time: all five are handled, each once.
  admit = 2;
  CHECK(wait_for([&] { return calls.load() == 5; }));
  CHECK(wait_for([&] { return pending() == 0; }));
  runner.request_stop();
}
