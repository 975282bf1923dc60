// pipeline on Kafka (`--transport kafka`): the same Worker binding and handler as the NATS
// pipeline, on the Kafka transport, against raw_kafka::pipeline, a plain librdkafka loop doing the
// same work. Every path and round gets fresh topics (the mock cluster keeps only a few MB per
// partition). Without --kafka an in-process mock cluster is started.
//
// Both sides are timed from the first record received to the moment all `count` input offsets
// are committed, so the consumer group's join (seconds on the mock) counts on neither side.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

#include "common.hpp"
#include "fleet/broker/kafka.hpp"
#include "fleet/runtime/handler.hpp"
#include "fleet/runtime/worker.hpp"
#include "fleet/schemas/codec.hpp"
#include "fleet/schemas/envelope.hpp"
#include "fleet/schemas/events/bench.hpp"
#include "raw_kafka.hpp"

namespace fleet::bench {
namespace {

using Clock = std::chrono::steady_clock;
using fleet::schemas::Payload;

struct Names {
  std::string stream, subject, out_stream, out_subject;
};

// Fresh topics for one path and round; the run id keeps runs against one cluster apart.
Names names(const std::string& tag) {
  const std::string base = "bench-" + std::to_string(::getpid()) + "-" + tag;
  return {base + "-in", "bench.kpipe." + tag + ".in", base + "-out", "bench.kpipe." + tag + ".out"};
}

// Set-up, not timed: the stream of inputs and the follow-ups' stream, then `count` inputs.
void prepare(broker::Transport& transport, const Options& options, const Names& n) {
  ensure_stream(transport, n.stream, n.subject);
  ensure_stream(transport, n.out_stream, n.out_subject);
  Payload payload{.seq = 0, .data = std::string(options.size, 'x')};
  for (std::uint64_t i = 0; i < options.count; ++i) {
    payload.seq = i;
    auto meta = schemas::new_metadata(std::string(Payload::type_name));
    auto sent = transport.publish_async({.subject = n.subject,
                                         .headers = schemas::to_headers(meta),
                                         .body = schemas::encode(payload),
                                         .dedup_id = meta.id},
                                        [](const auto&) {});
    if (!sent) throw std::runtime_error(sent.error().describe());
  }
  if (auto ok = transport.flush(std::chrono::seconds(60)); !ok) {
    throw std::runtime_error(ok.error().describe());
  }
}

double raw_pipeline(const Options& options, int round) {
  const std::string tag = "raw" + std::to_string(round);
  const Names n = names(tag);
  {
    auto transport = connect(options);
    prepare(*transport, options, n);
  }
  return raw_kafka::pipeline({.brokers = options.kafka,
                              .input_topic = n.stream,
                              .output_topic = n.out_stream,
                              .output_subject = n.out_subject,
                              .group = "raw." + n.stream,
                              .count = options.count,
                              .run_id = tag});
}

double fleet_pipeline(const Options& options, int round, bool inbox) {
  const std::string tag = (inbox ? "inbox" : "fleet") + std::to_string(round);
  const Names n = names(tag);
  auto transport = connect(options);
  prepare(*transport, options, n);
  std::atomic<std::uint64_t> handled{0};
  std::once_flag first;
  Clock::time_point start{};
  runtime::Worker worker(*transport, {.drain_timeout = std::chrono::seconds(30)});
  auto added = worker.add(
      {.role = tag,
       .stream = n.stream,
       .subject = n.subject,
       .handler = runtime::typed<Payload>([&](const Payload& payload, runtime::Context& context) {
         std::call_once(first, [&] { start = Clock::now(); });
         context.publish(n.out_subject, payload);
         handled.fetch_add(1, std::memory_order_release);
         return runtime::Outcome::ok();
       }),
       .concurrency = options.lanes,
       .max_in_flight = 512,
       .max_ack_pending = 10'000,
       .inbox = inbox});
  if (!added) throw std::runtime_error(added.error().describe());
  // The transport names the group of a new durable "fleet.<stream>.<durable>".
  raw_kafka::CommitWatcher watcher(options.kafka, "fleet." + n.stream + "." + tag, n.stream);
  std::jthread runner([&](std::stop_token stop) { (void)worker.run(stop); });
  while (handled.load(std::memory_order_acquire) < options.count) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  // Done once every input offset is committed (the worker commits settled offsets itself).
  const auto give_up = Clock::now() + std::chrono::seconds(60);
  while (watcher.committed() < static_cast<std::int64_t>(options.count)) {
    if (Clock::now() > give_up) throw std::runtime_error("fleet: offsets not committed in 60 s");
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  const auto end = Clock::now();
  runner.request_stop();
  runner.join();
  return static_cast<double>(options.count) / std::chrono::duration<double>(end - start).count();
}

// librdkafka's mock cluster keeps at most 5 MB of records per partition and deletes the oldest
// beyond that (retention), so a longer run loses inputs before the consumers read them and then
// waits for them forever. A record takes the body plus up to about 800 bytes of envelope headers
// and framing, and records spread unevenly over the partitions: keep a fifth in reserve.
void check_fits_mock(const Options& options) {
  constexpr std::uint64_t per_partition = 5ull * 1024 * 1024 * 4 / 5;
  const std::uint64_t partitions = broker::kafka::Config{}.partitions;
  const std::uint64_t record = options.size + 800;
  const std::uint64_t most = partitions * per_partition / record;
  if (options.count > most) {
    throw std::runtime_error("the in-process mock cluster keeps 5 MB per partition: at --size " +
                             std::to_string(options.size) + " use --count " + std::to_string(most) +
                             " or less, or a real broker (--kafka)");
  }
}

}  // namespace

void bench_pipeline_kafka(Options options) {
  std::unique_ptr<broker::kafka::MockCluster> mock;
  if (options.kafka.empty()) {
    check_fits_mock(options);
    auto started = broker::kafka::MockCluster::start(1);
    if (!started) throw std::runtime_error(started.error().describe());
    mock = std::move(*started);
    options.kafka = mock->bootstrap_servers();
    std::printf("mock Kafka cluster (in this process) at %s\n", options.kafka.c_str());
  }
  const auto state = std::filesystem::temp_directory_path() /
                     ("fleet-bench-state-" + std::to_string(::getpid()) + ".db");
  options.kafka_state = "sqlite:" + state.string();
  // The inbox adds two state-store operations per message (SQLite here) that the raw loop does
  // not do: shown apart.
  if (options.only.empty()) {
    std::printf("fleet with the inbox on: %.0f msg/s\n", fleet_pipeline(options, 0, true));
  }
  compare(
      "pipeline", options, [&](int round) { return raw_pipeline(options, round); },
      [&](int round) { return fleet_pipeline(options, round, options.only == "inbox"); });
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::error_code ignored;
    std::filesystem::remove(state.string() + suffix, ignored);
  }
}

}  // namespace fleet::bench
