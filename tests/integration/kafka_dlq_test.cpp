// The dead-letter tooling on Kafka: `fleet dlq` (a child process) against librdkafka's mock
// cluster in this process (the child connects to it over TCP), dead letters written the way
// the runtime writes them, and interop with kcat, a Kafka client that is not fleet.
#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "eventually.hpp"
#include "fleet/broker/kafka.hpp"
#include "fleet/runtime/dead_letter.hpp"
#include "fleet/runtime/handler.hpp"
#include "fleet/runtime/worker.hpp"
#include "fleet/schemas/codec.hpp"
#include "fleet/schemas/events/bench.hpp"
#include "nats_server.hpp"
#include "process.hpp"
#include "test_events.hpp"

namespace {

namespace h = fleet::schemas::dlq_header;
using fleet::broker::Delivery;
using fleet::broker::Message;
using fleet::broker::StoredMessage;
using fleet::test::event;
using fleet::test::header_of;
using fleet::test::id_of;
using nlohmann::json;
using namespace std::chrono_literals;

// A fresh mock cluster per test case (in this process), a transport on it, the ORDERS stream
// and the dead-letter stream DLQ ("dlq.>").
class Fixture {
 public:
  Fixture() : dir_(fleet::test::make_temp_dir("fleet-kafka-dlq")) {
    auto cluster = fleet::broker::kafka::MockCluster::start(1);
    REQUIRE_MESSAGE(cluster.has_value(), cluster.error().describe());
    cluster_ = std::move(*cluster);
    fleet::broker::kafka::Config config;
    config.brokers = bootstrap();
    config.state_url = "sqlite:" + (dir_ / "state.db").string();
    auto transport = fleet::broker::kafka::connect(config);
    REQUIRE_MESSAGE(transport.has_value(), transport.error().describe());
    transport_ = std::move(*transport);
    REQUIRE(transport_->ensure_stream({.name = "ORDERS", .subjects = {"orders.>"}}).has_value());
    REQUIRE(
        transport_->ensure_stream(fleet::runtime::DeadLetterConfig{}.stream_config()).has_value());
  }
  ~Fixture() {
    transport_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  std::string bootstrap() const { return cluster_->bootstrap_servers(); }
  fleet::broker::Transport& transport() { return *transport_; }
  const std::filesystem::path& dir() const { return dir_; }

  std::uint64_t publish(const Message& m) {
    auto ack = transport_->publish(m, 10s);
    REQUIRE_MESSAGE(ack.has_value(), ack.error().describe());
    return ack->sequence;
  }

  // One delivery from a fresh durable on ORDERS (the consumer group's first join takes a
  // few seconds on the mock cluster).
  std::vector<Delivery> deliveries(const std::string& durable, std::size_t want) {
    fleet::broker::ConsumerConfig consumer;
    consumer.stream = "ORDERS";
    consumer.durable = durable;
    REQUIRE(transport_->ensure_consumer(consumer).has_value());
    auto subscription = transport_->subscribe(consumer);
    REQUIRE_MESSAGE(subscription.has_value(), subscription.error().describe());
    std::vector<Delivery> out;
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (out.size() < want && std::chrono::steady_clock::now() < deadline) {
      auto batch = (*subscription)->fetch(want - out.size(), 200ms);
      REQUIRE(batch.has_value());
      for (auto& d : *batch) out.push_back(std::move(d));
    }
    REQUIRE(out.size() == want);
    for (auto& d : out) CHECK(d.ack().has_value());
    return out;
  }

  // Every message stored in `stream`, in sequence order (marked entries skipped).
  std::vector<StoredMessage> stored(const std::string& stream) {
    auto store = transport_->stream_store(stream);
    REQUIRE_MESSAGE(store.has_value(), store.error().describe());
    std::vector<StoredMessage> out;
    REQUIRE((*store)
                ->scan(0, "",
                       [&](StoredMessage& s) {
                         out.push_back(std::move(s));
                         return true;
                       })
                .has_value());
    return out;
  }

  // `fleet dlq <args> --transport kafka --kafka <bootstrap>`.
  fleet::test::RunResult dlq(std::vector<std::string> args) {
    std::vector<std::string> argv = {FLEET_CLI, "dlq"};
    argv.insert(argv.end(), args.begin(), args.end());
    for (const char* arg : {"--transport", "kafka", "--kafka"}) argv.emplace_back(arg);
    argv.push_back(bootstrap());
    return fleet::test::run(argv);
  }
  json entries(std::vector<std::string> filters = {}) {
    filters.insert(filters.begin(), {"list", "--json"});
    auto result = dlq(filters);
    REQUIRE_MESSAGE(result.exit_code == 0, result.err);
    return json::parse(result.out);
  }

 private:
  std::filesystem::path dir_;
  std::unique_ptr<fleet::broker::kafka::MockCluster> cluster_;
  std::unique_ptr<fleet::broker::Transport> transport_;
};

// The dead letter the runtime writes for `delivery` (failed by role "billing").
Message dead_letter(const Delivery& delivery, const std::string& error_class) {
  return fleet::runtime::dead_letter_message(fleet::runtime::DeadLetterConfig{}, delivery,
                                             {.error_class = error_class,
                                              .message = error_class + " on purpose",
                                              .role = "billing",
                                              .worker = "test:1",
                                              .first_failed_at = ""});
}

// kcat -J prints headers as a flat array: name, value, name, value...
std::map<std::string, std::string> kcat_headers(const json& record) {
  std::map<std::string, std::string> out;
  const auto& flat = record["headers"];
  for (std::size_t i = 0; i + 1 < flat.size(); i += 2) {
    out[flat[i].get<std::string>()] = flat[i + 1].is_null() ? "" : flat[i + 1].get<std::string>();
  }
  return out;
}

}  // namespace

TEST_CASE("kafka: a dead letter is listed, shown, replayed, and then no longer listed") {
  Fixture f;
  const auto original = event("orders.placed", 7, "seven", "order-7");
  const std::uint64_t original_seq = f.publish(original);
  auto delivered = f.deliveries("billing", 1);
  const Delivery& delivery = delivered.front();
  REQUIRE(delivery.position().has_value());
  CHECK(delivery.sequence() == original_seq);

  const Message letter = dead_letter(delivery, "permanent");
  // The runtime names partition and offset on a partitioned transport.
  CHECK(header_of(letter, h::stream_sequence) == std::to_string(original_seq));
  CHECK(header_of(letter, h::original_partition) == std::to_string(delivery.position()->partition));
  CHECK(header_of(letter, h::original_offset) == std::to_string(delivery.position()->offset));
  const std::uint64_t dlq_seq = f.publish(letter);

  const auto listed = f.entries();
  REQUIRE(listed.size() == 1);
  CHECK(listed[0]["seq"] == dlq_seq);
  CHECK(listed[0]["error_class"] == "permanent");
  CHECK(listed[0]["role"] == "billing");
  CHECK(listed[0]["type"] == "bench.Payload");

  auto shown = f.dlq({"show", std::to_string(dlq_seq), "--json"});
  REQUIRE_MESSAGE(shown.exit_code == 0, shown.err);
  const auto one = json::parse(shown.out);
  CHECK(one["headers"]["Fleet-Id"] == id_of(original));
  CHECK(one["headers"]["Fleet-Dlq-Original-Offset"] == std::to_string(delivery.position()->offset));
  CHECK(one["payload"]["data"] == "seven");

  auto stats = f.dlq({"stats"});
  CHECK_MESSAGE(stats.exit_code == 0, stats.err);

  auto replay = f.dlq({"replay", "--yes"});
  CHECK_MESSAGE(replay.exit_code == 0, replay.err);
  CHECK_MESSAGE(replay.out.find("replayed 1, skipped 0, failed 0") != std::string::npos,
                replay.out);
  CHECK(f.entries().empty());
  CHECK(f.stored("DLQ").empty());  // marked in DLQ.removed, skipped by every store

  // Back on its original subject with the same event id and body, without failure headers.
  const auto orders = f.stored("ORDERS");
  REQUIRE(orders.size() == 2);
  const Message& replayed = orders.back().message;
  CHECK(replayed.subject == "orders.placed");
  CHECK(id_of(replayed) == id_of(original));
  CHECK(replayed.body == original.body);
  for (const auto& [name, value] : replayed.headers) CHECK_FALSE(name.starts_with("Fleet-Dlq-"));
}

TEST_CASE("kafka: purge marks entries removed, and they stay hidden") {
  Fixture f;
  for (int i = 0; i < 3; ++i) {
    f.publish(event(i == 0 ? "orders.cancelled" : "orders.placed", static_cast<std::uint64_t>(i),
                    "x", "order-" + std::to_string(i)));
  }
  for (const auto& delivery : f.deliveries("billing", 3))
    f.publish(dead_letter(delivery, "poison"));
  REQUIRE(f.entries().size() == 3);

  auto refused = f.dlq({"purge"});
  CHECK(refused.exit_code == 2);
  CHECK(f.entries().size() == 3);

  auto purged = f.dlq({"purge", "--subject", "orders.cancelled", "--yes"});
  CHECK_MESSAGE(purged.exit_code == 0, purged.err);
  CHECK(purged.out.find("purged 1, failed 0") != std::string::npos);
  const auto left = f.entries();
  REQUIRE(left.size() == 2);
  for (const auto& entry : left) CHECK(entry["subject"] == "orders.placed");

  auto all = f.dlq({"purge", "--yes"});
  CHECK_MESSAGE(all.exit_code == 0, all.err);
  CHECK(all.out.find("purged 2, failed 0") != std::string::npos);
  CHECK(f.entries().empty());
  // The records are still in the topic; a store opened afresh reads the marks and skips them.
  CHECK(f.stored("DLQ").empty());
  auto store = f.transport().stream_store("DLQ");
  REQUIRE(store.has_value());
  CHECK((*store)->get(left[0]["seq"].get<std::uint64_t>()).error().code == fleet::Errc::not_found);

  auto help = f.dlq({"purge", "--help"});
  CHECK(help.out.find("DLQ.removed") != std::string::npos);
}

TEST_CASE("kafka: a record produced by kcat is delivered with its subject, headers and body") {
  Fixture f;
  const auto original = event("orders.kcat", 42, "from kcat");
  const auto body_file = f.dir() / "body.msgpack";
  {
    std::ofstream out(body_file, std::ios::binary);
    out << original.body;
  }
  std::vector<std::string> argv = {
      "kcat",   "-P", "-b",       f.bootstrap(), "-t",
      "ORDERS", "-k", "order-42", "-H",          "Fleet-Subject=orders.kcat"};
  for (const auto& [name, value] : original.headers) {
    argv.push_back("-H");
    argv.push_back(name + "=" + value);
  }
  argv.push_back(body_file.string());  // one file, one record
  auto produced = fleet::test::run(argv);
  REQUIRE_MESSAGE(produced.exit_code == 0, produced.err);

  auto delivered = f.deliveries("kcat-reader", 1);
  const Message& m = delivered.front().message();
  CHECK(m.subject == "orders.kcat");
  CHECK(m.key == "order-42");
  CHECK(id_of(m) == id_of(original));
  CHECK(header_of(m, "Fleet-Type") == header_of(original, "Fleet-Type"));
  CHECK(m.body == original.body);
  auto payload = fleet::schemas::decode<fleet::schemas::Payload>(m.body);
  REQUIRE(payload.has_value());
  CHECK(payload->seq == 42);
  CHECK(payload->data == "from kcat");
}

TEST_CASE("kafka: kcat -C -J reads a dead letter with its Fleet-Dlq headers") {
  Fixture f;
  f.publish(event("orders.placed", 1, "one", "order-1"));
  auto delivered = f.deliveries("billing", 1);
  const Delivery& delivery = delivered.front();
  const std::uint64_t dlq_seq = f.publish(dead_letter(delivery, "decode"));

  auto consumed = fleet::test::run(
      {"kcat", "-C", "-J", "-q", "-b", f.bootstrap(), "-t", "DLQ", "-o", "beginning", "-e"});
  REQUIRE_MESSAGE(consumed.exit_code == 0, consumed.err);
  std::istringstream lines(consumed.out);
  std::string line;
  std::vector<json> records;
  while (std::getline(lines, line)) {
    // kcat writes the payload's bytes into the JSON string as they are, and a msgpack body is
    // not UTF-8: blank out non-ASCII bytes so the rest parses (headers are ASCII).
    for (char& c : line) {
      if (static_cast<unsigned char>(c) >= 0x80) c = '?';
    }
    if (!line.empty()) records.push_back(json::parse(line));
  }
  REQUIRE(records.size() == 1);
  const auto& record = records[0];
  CHECK(record["topic"] == "DLQ");
  // The dead letter's own sequence is its partition and offset in DLQ.
  CHECK(record["partition"].get<std::uint64_t>() == (dlq_seq >> 40));
  CHECK(record["offset"].get<std::uint64_t>() + 1 == (dlq_seq & ((1ULL << 40) - 1)));
  const auto headers = kcat_headers(record);
  CHECK(headers.at("Fleet-Subject") == "dlq.orders.placed");
  CHECK(headers.at("Fleet-Dlq-Original-Subject") == "orders.placed");
  CHECK(headers.at("Fleet-Dlq-Error-Class") == "decode");
  CHECK(headers.at("Fleet-Dlq-Stream-Sequence") == std::to_string(delivery.sequence()));
  CHECK(headers.at("Fleet-Dlq-Original-Partition") ==
        std::to_string(delivery.position()->partition));
  CHECK(headers.at("Fleet-Dlq-Original-Offset") == std::to_string(delivery.position()->offset));
  CHECK(headers.at("Fleet-Id") == id_of(delivery.message()));
}

TEST_CASE("kafka: an undecodable record at the producer's size limit is dead-lettered trimmed") {
  Fixture f;
  // A transport whose records may be at most 100 kB, so the copy with failure headers cannot
  // be stored as it is.
  fleet::broker::kafka::Config config;
  config.brokers = f.bootstrap();
  config.state_url = "sqlite:" + (f.dir() / "worker-state.db").string();
  config.properties["message.max.bytes"] = "100000";
  auto connected = fleet::broker::kafka::connect(config);
  REQUIRE_MESSAGE(connected.has_value(), connected.error().describe());
  auto& transport = **connected;
  // 0xc1 is never valid msgpack: the body cannot be decoded, a permanent failure.
  auto sized = [](const std::string& subject, std::size_t bytes) {
    auto message = event(subject, 1, "x");
    message.body = std::string(bytes, '\xc1');
    return message;
  };
  // The largest body the producer takes on a subject of the same length as the real one.
  REQUIRE(transport.ensure_stream({.name = "PROBES", .subjects = {"probes.>"}}).has_value());
  std::size_t fits = 0, too_big = 100'000;
  while (too_big - fits > 1) {
    const std::size_t middle = (fits + too_big) / 2;
    (transport.publish(sized("probes.big", middle), 10s) ? fits : too_big) = middle;
  }
  const Message original = sized("orders.big", fits);
  REQUIRE(transport.publish(original, 10s).has_value());

  fleet::runtime::Worker worker(transport, {.fetch_wait = 50ms});
  REQUIRE(worker
              .add({.role = "orders",
                    .stream = "ORDERS",
                    .subject = "orders.>",
                    .handler = fleet::runtime::typed<fleet::schemas::Payload>(
                        [](const fleet::schemas::Payload&, fleet::runtime::Context&) {
                          return fleet::runtime::Outcome::ok();
                        })})
              .has_value());
  std::jthread running([&](std::stop_token stop) { (void)worker.run(stop); });

  std::vector<StoredMessage> dead;
  REQUIRE(fleet::test::eventually([&] { return !(dead = f.stored("DLQ")).empty(); }, 60s));
  REQUIRE(dead.size() == 1);
  const Message& letter = dead.front().message;
  CHECK(id_of(letter) == id_of(original));
  CHECK(header_of(letter, h::error_class) == "decode");
  CHECK(header_of(letter, h::trimmed) == "headers,body");
  CHECK(header_of(letter, h::original_body_bytes) == std::to_string(fits));
  CHECK(header_of(letter, h::original_subject) == "orders.big");
  CHECK(letter.body.empty());
}
