// Dead-letter tooling without a broker: time bounds, filters, grouping, replay planning, and the
// replay / purge engine against the in-process broker.
#include <doctest/doctest.h>

#include <chrono>

#include "fleet/broker/memory.hpp"
#include "fleet/dlq/filter.hpp"
#include "fleet/dlq/replay.hpp"
#include "fleet/dlq/stats.hpp"
#include "fleet/dlq/time.hpp"
#include "fleet/runtime/dead_letter.hpp"
#include "fleet/schemas/codec.hpp"
#include "fleet/schemas/envelope.hpp"
#include "fleet/schemas/events/bench.hpp"
#include "order_fulfilment/event_types.hpp"

namespace {

namespace dlq = fleet::dlq;
namespace h = fleet::schemas::dlq_header;
using fleet::schemas::Payload;
using namespace std::chrono_literals;

dlq::Time at(const char* text) {
  auto t = dlq::parse_rfc3339(text);
  REQUIRE(t.has_value());
  return *t;
}

// A dead letter as the runtime writes it.
fleet::broker::Message letter(const std::string& subject, const std::string& data,
                              const std::string& error_class = "permanent",
                              const std::string& role = "billing",
                              const std::string& failed_at = "2026-11-25T08:00:00.000Z") {
  auto meta = fleet::schemas::new_metadata(std::string(Payload::type_name));
  auto headers = fleet::schemas::to_headers(meta);
  headers[std::string(h::original_subject)] = subject;
  headers[std::string(h::error_class)] = error_class;
  headers[std::string(h::error_message)] = "failed on purpose";
  headers[std::string(h::attempts)] = "5";
  headers[std::string(h::role)] = role;
  headers[std::string(h::last_failed_at)] = failed_at;
  return {.subject = "dlq." + subject,
          .headers = headers,
          .body = fleet::schemas::encode(Payload{.seq = 1, .data = data})};
}

dlq::DeadLetter entry(const fleet::broker::Message& message, std::uint64_t sequence = 7) {
  return dlq::read_dead_letter({.sequence = sequence, .message = message}, "dlq.");
}

}  // namespace

TEST_CASE("time bounds accept RFC 3339 with offsets and fractions, and spans back from now") {
  CHECK(at("2026-11-25T08:00:00Z") == at("2026-11-25T10:00:00+02:00"));
  CHECK(at("2026-11-25T08:00:00.500Z") - at("2026-11-25T08:00:00Z") == 500ms);
  const auto now = at("2026-11-25T08:00:00Z");
  CHECK(*dlq::parse_time("1h", now) == at("2026-11-25T07:00:00Z"));
  CHECK(*dlq::parse_time("30m", now) == at("2026-11-25T07:30:00Z"));
  CHECK(*dlq::parse_time("1h30m", now) == at("2026-11-25T06:30:00Z"));
  CHECK(*dlq::parse_time("2d", now) == at("2026-11-23T08:00:00Z"));
  CHECK(dlq::format_time(now) == "2026-11-25T08:00:00Z");
  for (const char* bad : {"", "yesterday", "1x", "h", "2026-13-01T00:00:00Z", "2026-11-25",
                          "2026-11-25T08:00:00", "2026-11-25T08:00:00Zjunk"}) {
    CAPTURE(bad);
    auto parsed = dlq::parse_time(bad, now);
    REQUIRE_FALSE(parsed.has_value());
    CHECK(parsed.error().code == fleet::Errc::invalid_argument);
  }
}

TEST_CASE("subject patterns match NATS-style: * one token, > one or more") {
  CHECK(dlq::subject_matches("orders.placed", "orders.placed"));
  CHECK(dlq::subject_matches("orders.*", "orders.placed"));
  CHECK_FALSE(dlq::subject_matches("orders.*", "orders.placed.eu"));
  CHECK(dlq::subject_matches("orders.>", "orders.placed.eu"));
  CHECK_FALSE(dlq::subject_matches("orders.>", "orders"));
  CHECK_FALSE(dlq::subject_matches("orders.placed", "orders.placed.eu"));
  CHECK_FALSE(dlq::subject_matches("orders.placed.eu", "orders.placed"));
}

TEST_CASE("a dead letter's failure headers are read into fields; missing ones stay empty") {
  auto e = entry(letter("orders.placed", "x"));
  CHECK(e.sequence == 7);
  CHECK(e.original_subject == "orders.placed");
  CHECK(e.type == "bench.Payload");
  CHECK(e.error_class == "permanent");
  CHECK(e.attempts == 5);
  CHECK(e.role == "billing");
  CHECK(e.replay_count == 0);
  REQUIRE(e.failed_at.has_value());
  CHECK(*e.failed_at == at("2026-11-25T08:00:00Z"));

  auto bare = entry({.subject = "dlq.a.b", .body = "x"});
  CHECK(bare.original_subject == "a.b");
  CHECK_FALSE(bare.failed_at.has_value());
}

TEST_CASE("a filter selects on subject, type, error text, role and failure time together") {
  const auto e = entry(letter("orders.placed", "x", "timeout", "billing"));
  CHECK(dlq::matches({}, e));
  CHECK(dlq::matches({.subject = "orders.*"}, e));
  CHECK_FALSE(dlq::matches({.subject = "payments.*"}, e));
  CHECK(dlq::matches({.type = "bench.Payload"}, e));
  CHECK_FALSE(dlq::matches({.type = "orders.OrderPlaced"}, e));
  CHECK(dlq::matches({.error = "TIMEOUT"}, e));
  CHECK(dlq::matches({.error = "on purpose"}, e));
  CHECK(dlq::matches({.error = "timeout: failed on purpose"}, e));  // a stats --by error key
  CHECK_FALSE(dlq::matches({.error = "decode"}, e));
  CHECK(dlq::matches({.role = "billing"}, e));
  CHECK_FALSE(dlq::matches({.role = "shipping"}, e));
  CHECK(dlq::matches({.since = at("2026-11-25T08:00:00Z")}, e));
  CHECK_FALSE(dlq::matches({.since = at("2026-11-25T08:00:01Z")}, e));
  CHECK(dlq::matches({.until = at("2026-11-25T08:00:01Z")}, e));
  CHECK_FALSE(dlq::matches({.until = at("2026-11-25T08:00:00Z")}, e));
  CHECK_FALSE(dlq::matches({.subject = "orders.*", .role = "shipping"}, e));
}

TEST_CASE("stats group dead letters with counts, oldest and newest, largest group first") {
  std::vector<dlq::DeadLetter> entries = {
      entry(letter("a.x", "1", "timeout", "r1", "2026-11-25T08:00:00Z")),
      entry(letter("b.x", "2", "decode", "r1", "2026-11-25T09:00:00Z")),
      entry(letter("b.x", "3", "decode", "r2", "2026-11-25T07:00:00Z")),
  };
  auto by_subject = dlq::group(entries, dlq::GroupBy::subject);
  REQUIRE(by_subject.size() == 2);
  CHECK(by_subject[0].key == "b.x");
  CHECK(by_subject[0].count == 2);
  CHECK(*by_subject[0].oldest == at("2026-11-25T07:00:00Z"));
  CHECK(*by_subject[0].newest == at("2026-11-25T09:00:00Z"));
  auto by_error = dlq::group(entries, dlq::GroupBy::error);
  CHECK(by_error[0].key == "decode: failed on purpose");
  auto by_role = dlq::group(entries, dlq::GroupBy::role);
  CHECK(by_role[0].key == "r1");
  CHECK(by_role[0].count == 2);
}

TEST_CASE("a replay keeps the event's headers and body, drops failure headers, counts the replay") {
  const auto e = entry(letter("orders.placed", "x"), 42);
  const auto plan = dlq::plan_replay(e, {}, order_fulfilment::event_types());
  REQUIRE(plan.action == dlq::Planned::Action::publish);
  const auto& m = plan.message;
  CHECK(m.subject == "orders.placed");
  CHECK(m.body == e.message.body);
  CHECK(fleet::header(m.headers, fleet::schemas::header::id) == e.id);
  CHECK(fleet::header(m.headers, dlq::replay_count_header) == "1");
  for (const auto& [name, value] : m.headers) CHECK_FALSE(name.starts_with("Fleet-Dlq-"));
  CHECK(m.dedup_id == e.id + ".replay.42");
  CHECK(m.dedup_id != e.id);

  const auto elsewhere = dlq::plan_replay(e, {.to = "orders.retry"}, {});
  CHECK(elsewhere.message.subject == "orders.retry");
}

TEST_CASE("the loop guard skips events replayed max_replays times unless forced") {
  auto message = letter("orders.placed", "x");
  message.headers[std::string(dlq::replay_count_header)] = "3";
  const auto e = entry(message);
  const auto& registry = order_fulfilment::event_types();
  CHECK(dlq::plan_replay(e, {}, registry).action == dlq::Planned::Action::skip);
  CHECK(dlq::plan_replay(e, {.max_replays = 4}, registry).action == dlq::Planned::Action::publish);
  const auto forced = dlq::plan_replay(e, {.force = true}, registry);
  REQUIRE(forced.action == dlq::Planned::Action::publish);
  CHECK(fleet::header(forced.message.headers, dlq::replay_count_header) == "4");
}

TEST_CASE("an entry whose body was trimmed to fit the broker is not replayed empty") {
  auto message = letter("orders.placed", "x");
  message.body.clear();
  message.headers[std::string(fleet::schemas::dlq_header::trimmed)] = "headers,body";
  const auto plan = dlq::plan_replay(entry(message), {}, order_fulfilment::event_types());
  CHECK(plan.action == dlq::Planned::Action::fail);
  CHECK(plan.reason.find("body not stored") != std::string::npos);

  auto headers_only = letter("orders.placed", "x");
  headers_only.headers[std::string(fleet::schemas::dlq_header::trimmed)] = "headers";
  CHECK(dlq::plan_replay(entry(headers_only), {}, order_fulfilment::event_types()).action ==
        dlq::Planned::Action::publish);
}

TEST_CASE("an edit merge-patches the payload and must still fit the event's schema") {
  const auto e = entry(letter("orders.placed", "bad"));
  const auto& registry = order_fulfilment::event_types();
  const auto patched = dlq::plan_replay(e, {.edit = nlohmann::json{{"data", "good"}}}, registry);
  REQUIRE(patched.action == dlq::Planned::Action::publish);
  auto payload = fleet::schemas::decode<Payload>(patched.message.body);
  REQUIRE(payload.has_value());
  CHECK(payload->data == "good");
  CHECK(payload->seq == 1);

  const auto broken = dlq::plan_replay(e, {.edit = nlohmann::json{{"seq", "x"}}}, registry);
  CHECK(broken.action == dlq::Planned::Action::fail);
  CHECK(broken.reason.find("invalid") != std::string::npos);
  const auto removed = dlq::plan_replay(e, {.edit = nlohmann::json{{"seq", nullptr}}}, registry);
  CHECK(removed.action == dlq::Planned::Action::fail);
}

TEST_CASE("replay publishes to the original subject and removes only confirmed entries") {
  auto broker = fleet::broker::memory::make_broker();
  auto transport = fleet::broker::memory::connect(broker);
  REQUIRE(transport->ensure_stream(fleet::runtime::DeadLetterConfig{}.stream_config()));
  REQUIRE(transport->ensure_stream({.name = "ORDERS", .subjects = {"orders.>"}}));
  REQUIRE(transport->publish(letter("orders.placed", "1"), 1s));
  REQUIRE(transport->publish(letter("nowhere.x", "2"), 1s));  // no stream captures it
  auto guarded = letter("orders.placed", "3");
  guarded.headers[std::string(dlq::replay_count_header)] = "3";
  REQUIRE(transport->publish(guarded, 1s));

  auto store = transport->stream_store("DLQ");
  REQUIRE(store.has_value());
  auto entries = dlq::select(**store, {}, "dlq.");
  REQUIRE(entries.has_value());
  REQUIRE(entries->size() == 3);
  const auto counts =
      dlq::replay(*transport, **store, *entries, {}, order_fulfilment::event_types(), {});
  CHECK(counts.done == 1);
  CHECK(counts.skipped == 1);
  CHECK(counts.failed == 1);

  auto left = dlq::select(**store, {}, "dlq.");
  REQUIRE(left.has_value());
  REQUIRE(left->size() == 2);
  CHECK(left->at(0).original_subject == "nowhere.x");
  CHECK(left->at(1).replay_count == 3);
  auto streams = transport->streams();
  REQUIRE(streams.has_value());
  for (const auto& s : *streams) {
    if (s.name == "ORDERS") CHECK(s.messages == 1);
  }

  const auto purged = dlq::purge(**store, *left, 1s);
  CHECK(purged.done == 2);
  CHECK(dlq::select(**store, {}, "dlq.")->empty());
}

TEST_CASE("select stops at the limit, oldest first, and a missing stream is not found") {
  auto broker = fleet::broker::memory::make_broker();
  auto transport = fleet::broker::memory::connect(broker);
  CHECK(transport->stream_store("DLQ").error().code == fleet::Errc::not_found);
  REQUIRE(transport->ensure_stream(fleet::runtime::DeadLetterConfig{}.stream_config()));
  for (int i = 0; i < 5; ++i) REQUIRE(transport->publish(letter("a.b", std::to_string(i)), 1s));
  auto store = transport->stream_store("DLQ");
  REQUIRE(store.has_value());
  auto some = dlq::select(**store, {.limit = 2}, "dlq.");
  REQUIRE(some.has_value());
  REQUIRE(some->size() == 2);
  CHECK(some->at(0).sequence == 1);
  CHECK(some->at(1).sequence == 2);
}

TEST_CASE("replay_matching publishes matches while it reads and honours filter and limit") {
  auto broker = fleet::broker::memory::make_broker();
  auto transport = fleet::broker::memory::connect(broker);
  REQUIRE(transport->ensure_stream(fleet::runtime::DeadLetterConfig{}.stream_config()));
  REQUIRE(transport->ensure_stream({.name = "ORDERS", .subjects = {"orders.>"}}));
  for (int i = 0; i < 4; ++i) REQUIRE(transport->publish(letter("orders.placed", "p"), 1s));
  REQUIRE(transport->publish(letter("orders.paid", "q"), 1s));
  auto store = transport->stream_store("DLQ");
  REQUIRE(store.has_value());
  std::uint64_t last_progress = 0;
  const auto counts = dlq::replay_matching(
      *transport, **store, {.subject = "orders.placed", .limit = 3}, "dlq.", {},
      order_fulfilment::event_types(),
      {.progress = [&](std::uint64_t done, std::uint64_t) { last_progress = done; }});
  CHECK(counts.done == 3);
  CHECK(counts.failed == 0);
  CHECK_FALSE(counts.scan_failed);
  CHECK(last_progress == 3);
  auto left = dlq::select(**store, {}, "dlq.");
  REQUIRE(left.has_value());
  REQUIRE(left->size() == 2);
  CHECK(left->at(0).original_subject == "orders.placed");
  CHECK(left->at(1).original_subject == "orders.paid");
}

namespace {

struct UnsettledHandle final : fleet::broker::Delivery::Handle {
  fleet::Status ack() override { return {}; }
  fleet::Status retry_after(std::chrono::milliseconds) override { return {}; }
  fleet::Status in_progress() override { return {}; }
  fleet::Status terminate() override { return {}; }
};

}  // namespace

TEST_CASE("the runtime's dead letter of a replayed event keeps its replay count for the guard") {
  auto replayed = letter("orders.placed", "x");
  const auto plan = dlq::plan_replay(entry(replayed), {}, order_fulfilment::event_types());
  REQUIRE(plan.action == dlq::Planned::Action::publish);
  // The replayed event fails again: the runtime dead-letters the delivery it got.
  fleet::broker::Delivery delivery(plan.message, 5, 99, std::make_unique<UnsettledHandle>());
  const auto again = fleet::runtime::dead_letter_message(
      {}, delivery, {.error_class = "permanent", .message = "still broken", .role = "billing"});
  const auto e = entry(again, 2);
  CHECK(e.replay_count == 1);
  CHECK(e.error_message == "still broken");
  CHECK(e.id == entry(replayed).id);
  CHECK(e.original_subject == "orders.placed");
}

TEST_CASE("a dead letter names partition and offset only when the delivery has a position") {
  const auto original = letter("orders.placed", "x");
  // JetStream and memory deliveries have no position: the entry is as it always was.
  fleet::broker::Delivery plain(original, 5, 99, std::make_unique<UnsettledHandle>());
  const auto unpartitioned = fleet::runtime::dead_letter_message(
      {}, plain, {.error_class = "permanent", .message = "broken", .role = "billing"});
  CHECK(unpartitioned.headers.at(std::string(h::stream_sequence)) == "99");
  CHECK_FALSE(unpartitioned.headers.contains(std::string(h::original_partition)));
  CHECK_FALSE(unpartitioned.headers.contains(std::string(h::original_offset)));

  // A Kafka delivery: partition 2, offset 41 (sequence (2 << 40) | 42).
  const std::uint64_t sequence = (std::uint64_t{2} << 40) | 42;
  fleet::broker::Delivery kafka(original, 5, sequence, std::make_unique<UnsettledHandle>(),
                                fleet::broker::PartitionOffset{.partition = 2, .offset = 41});
  const auto partitioned = fleet::runtime::dead_letter_message(
      {}, kafka, {.error_class = "permanent", .message = "broken", .role = "billing"});
  CHECK(partitioned.headers.at(std::string(h::stream_sequence)) == std::to_string(sequence));
  CHECK(partitioned.headers.at(std::string(h::original_partition)) == "2");
  CHECK(partitioned.headers.at(std::string(h::original_offset)) == "41");
  // A replay drops them with the other failure headers.
  const auto plan = dlq::plan_replay(entry(partitioned), {}, order_fulfilment::event_types());
  REQUIRE(plan.action == dlq::Planned::Action::publish);
  for (const auto& [name, value] : plan.message.headers)
    CHECK_FALSE(name.starts_with("Fleet-Dlq-"));
}
