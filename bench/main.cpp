// fleet-bench: fleet vs a raw cnats loop doing the same broker operations in the same run.
// Rounds alternate raw and fleet (and who goes first) so both see the same machine; the best
// round of each side counts.
// The last line is `ratio: X.XX` (fleet rate / raw rate).
//
//   scripts/bench publish [--count N] [--size B] [--rounds R]
//   scripts/bench consume [--count N] [--size B] [--rounds R]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>

#include <CLI/CLI.hpp>

#include "fleet/broker/jetstream.hpp"
#include "fleet/schemas/envelope.hpp"
#include "raw_nats.hpp"

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string url = "nats://127.0.0.1:4222";
  std::uint64_t count = 100'000;
  std::size_t size = 256;
  int rounds = 3;
  int max_in_flight = 4'096;
};

struct Workload {
  std::string payload;
  fleet::Headers headers;  // a real envelope's headers, the same on both sides
};

Workload make_workload(const Options& options) {
  return {std::string(options.size, 'x'),
          fleet::schemas::to_headers(fleet::schemas::new_metadata("bench.Payload"))};
}

// Events per second of one timed run.
double timed(std::uint64_t count, const std::function<void()>& body) {
  const auto start = Clock::now();
  body();
  return count / std::chrono::duration<double>(Clock::now() - start).count();
}

std::unique_ptr<fleet::broker::Transport> connect(const Options& options) {
  auto transport = fleet::broker::jetstream::connect(
      {.url = options.url, .name = "fleet-bench", .max_in_flight = options.max_in_flight});
  if (!transport) throw std::runtime_error("connect: " + transport.error().describe());
  return std::move(*transport);
}

void ensure_stream(fleet::broker::Transport& transport, const std::string& name,
                   const std::string& subject) {
  if (auto ok = transport.ensure_stream({.name = name, .subjects = {subject}}); !ok) {
    throw std::runtime_error(ok.error().describe());
  }
}

// --- publish: async publish with headers and a dedup id, every ack awaited -------------------

void raw_ack_handler(jsCtx*, natsMsg* msg, jsPubAck*, jsPubAckErr* error, void* closure) {
  auto* acked = static_cast<std::atomic<std::uint64_t>*>(closure);
  if (error == nullptr) acked->fetch_add(1, std::memory_order_relaxed);
  natsMsg_Destroy(msg);
}

double raw_publish(const Options& options, const Workload& work, const std::string& subject) {
  std::atomic<std::uint64_t> acked{0};
  auto nc = fleet::bench::raw::connect(options.url);
  jsOptions js_options;
  jsOptions_Init(&js_options);
  js_options.PublishAsync.MaxPending = options.max_in_flight;
  js_options.PublishAsync.AckHandler = raw_ack_handler;
  js_options.PublishAsync.AckHandlerClosure = &acked;
  auto js = fleet::bench::raw::jetstream(nc.get(), &js_options);
  const std::string id_prefix = fleet::schemas::new_event_id();
  double rate = timed(options.count, [&] {
    for (std::uint64_t i = 0; i < options.count; ++i) {
      natsMsg* msg = nullptr;
      fleet::bench::raw::check(natsMsg_Create(&msg, subject.c_str(), nullptr, work.payload.data(),
                                              static_cast<int>(work.payload.size())),
                               "msg");
      for (const auto& [name, value] : work.headers) {
        natsMsgHeader_Set(msg, name.c_str(), value.c_str());
      }
      const std::string id = id_prefix + std::to_string(i);
      jsPubOptions pub;
      jsPubOptions_Init(&pub);
      pub.MsgId = id.c_str();
      if (js_PublishMsgAsync(js.get(), &msg, &pub) != NATS_OK) natsMsg_Destroy(msg);
    }
    jsPubOptions wait;
    jsPubOptions_Init(&wait);
    wait.MaxWait = 60'000;
    fleet::bench::raw::check(js_PublishAsyncComplete(js.get(), &wait), "complete");
  });
  if (acked.load() != options.count) throw std::runtime_error("raw publish lost acks");
  return rate;
}

double fleet_publish(const Options& options, const Workload& work, const std::string& subject) {
  auto transport = connect(options);
  std::atomic<std::uint64_t> acked{0};
  const std::string id_prefix = fleet::schemas::new_event_id();
  double rate = timed(options.count, [&] {
    for (std::uint64_t i = 0; i < options.count; ++i) {
      fleet::broker::Message message{.subject = subject,
                                     .headers = work.headers,
                                     .body = work.payload,
                                     .dedup_id = id_prefix + std::to_string(i)};
      auto sent = transport->publish_async(message, [&acked](const auto& ack) {
        if (ack) acked.fetch_add(1, std::memory_order_relaxed);
      });
      if (!sent) throw std::runtime_error(sent.error().describe());
    }
    if (auto ok = transport->flush(std::chrono::seconds(60)); !ok) {
      throw std::runtime_error(ok.error().describe());
    }
  });
  if (acked.load() != options.count) throw std::runtime_error("fleet publish lost acks");
  return rate;
}

// --- consume: pull fetch in batches, ack every message ----------------------------------------

constexpr int batch_size = 256;

double raw_consume(const Options& options, const std::string& stream, const std::string& durable) {
  auto nc = fleet::bench::raw::connect(options.url);
  auto js = fleet::bench::raw::jetstream(nc.get(), nullptr);
  jsSubOptions sub_options;
  jsSubOptions_Init(&sub_options);
  sub_options.Stream = stream.c_str();
  sub_options.Consumer = durable.c_str();
  natsSubscription* raw_sub = nullptr;
  jsErrCode code{};
  fleet::bench::raw::check(
      js_PullSubscribe(&raw_sub, js.get(), nullptr, durable.c_str(), nullptr, &sub_options, &code),
      "pull subscribe");
  fleet::bench::raw::Sub sub(raw_sub);
  std::uint64_t received = 0;
  std::size_t bytes = 0;
  double rate = timed(options.count, [&] {
    while (received < options.count) {
      natsMsgList list{};
      natsStatus s = natsSubscription_Fetch(&list, sub.get(), batch_size, 1'000, &code);
      if (s == NATS_TIMEOUT) continue;
      fleet::bench::raw::check(s, "fetch");
      for (int i = 0; i < list.Count; ++i) {
        natsMsg* msg = list.Msgs[i];
        // What any consumer of enveloped events reads: the delivery count and stream sequence
        // (for retry decisions) and every header (the event's metadata).
        jsMsgMetaData* meta = nullptr;
        if (natsMsg_GetMetaData(&meta, msg) == NATS_OK) jsMsgMetaData_Destroy(meta);
        const char** keys = nullptr;
        int key_count = 0;
        if (natsMsgHeader_Keys(msg, &keys, &key_count) == NATS_OK) {
          for (int k = 0; k < key_count; ++k) {
            const char* value = nullptr;
            natsMsgHeader_Get(msg, keys[k], &value);
          }
          std::free(static_cast<void*>(keys));
        }
        bytes += natsMsg_GetDataLength(msg);
        natsMsg_Ack(msg, nullptr);
      }
      received += list.Count;
      natsMsgList_Destroy(&list);
    }
  });
  if (bytes == 0) throw std::runtime_error("raw consume read nothing");
  return rate;
}

double fleet_consume(const Options& options, const std::string& stream,
                     const std::string& durable) {
  auto transport = connect(options);
  fleet::broker::ConsumerConfig consumer{
      .stream = stream, .durable = durable, .max_ack_pending = 10'000};
  auto subscription = transport->subscribe(consumer);
  if (!subscription) throw std::runtime_error(subscription.error().describe());
  std::uint64_t received = 0;
  std::size_t bytes = 0;
  return timed(options.count, [&] {
    while (received < options.count) {
      auto batch = (*subscription)->fetch(batch_size, std::chrono::seconds(1));
      if (!batch) throw std::runtime_error(batch.error().describe());
      for (auto& delivery : *batch) {
        bytes += delivery.message().body.size();
        if (auto ok = delivery.ack(); !ok) throw std::runtime_error(ok.error().describe());
      }
      received += batch->size();
    }
  });
}

void report(const char* what, double raw, double fleet) {
  std::printf("%s raw cnats: %10.0f msg/s\n", what, raw);
  std::printf("%s fleet:     %10.0f msg/s\n", what, fleet);
  std::printf("ratio: %.2f\n", fleet / raw);
}

void bench_publish(const Options& options) {
  auto admin = connect(options);
  ensure_stream(*admin, "BENCH_PUB", "bench.pub.>");
  const auto work = make_workload(options);
  double raw = 0, fleet = 0;
  for (int round = 1; round <= options.rounds; ++round) {
    double r = 0, f = 0;
    // Alternate who goes first so neither side always meets a warmer or fuller server.
    if (round % 2 == 1) {
      r = raw_publish(options, work, "bench.pub.raw");
      f = fleet_publish(options, work, "bench.pub.fleet");
    } else {
      f = fleet_publish(options, work, "bench.pub.fleet");
      r = raw_publish(options, work, "bench.pub.raw");
    }
    std::printf("round %d: raw %.0f/s, fleet %.0f/s\n", round, r, f);
    raw = std::max(raw, r);
    fleet = std::max(fleet, f);
  }
  report("publish", raw, fleet);
}

void bench_consume(const Options& options) {
  auto admin = connect(options);
  const std::string stream = "BENCH_CONSUME";
  ensure_stream(*admin, stream, "bench.consume.>");
  // One stream of count messages, read by a fresh durable per side and round.
  const auto work = make_workload(options);
  fleet_publish(options, work, "bench.consume.data");
  double raw = 0, fleet = 0;
  for (int round = 1; round <= options.rounds; ++round) {
    const std::string raw_durable = "raw" + std::to_string(round);
    const std::string fleet_durable = "fleet" + std::to_string(round);
    for (const auto& durable : {raw_durable, fleet_durable}) {
      auto ok =
          admin->ensure_consumer({.stream = stream, .durable = durable, .max_ack_pending = 10'000});
      if (!ok) throw std::runtime_error(ok.error().describe());
    }
    double r = 0, f = 0;
    if (round % 2 == 1) {
      r = raw_consume(options, stream, raw_durable);
      f = fleet_consume(options, stream, fleet_durable);
    } else {
      f = fleet_consume(options, stream, fleet_durable);
      r = raw_consume(options, stream, raw_durable);
    }
    std::printf("round %d: raw %.0f/s, fleet %.0f/s\n", round, r, f);
    raw = std::max(raw, r);
    fleet = std::max(fleet, f);
  }
  report("consume", raw, fleet);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"fleet-bench: fleet vs a raw cnats loop, same operations, same run"};
  Options options;
  app.require_subcommand(1);
  app.fallthrough();  // options may follow the subcommand
  app.add_option("--nats", options.url, "NATS server URL")->envname("FLEET_NATS_URL");
  app.add_option("--count,-n", options.count, "Messages per round")->capture_default_str();
  app.add_option("--size", options.size, "Payload bytes")->capture_default_str();
  app.add_option("--rounds", options.rounds, "Rounds per side (best counts)")
      ->capture_default_str();
  app.add_subcommand("publish", "Async publish with envelope headers and dedup id, all acked")
      ->callback([&] { bench_publish(options); });
  app.add_subcommand("consume", "Pull fetch in batches of 256 and ack each message")->callback([&] {
    bench_consume(options);
  });
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fleet-bench: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
