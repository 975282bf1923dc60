// publish and consume: the Transport against the same cnats calls made by hand.
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "common.hpp"
#include "fleet/schemas/envelope.hpp"
#include "raw_nats.hpp"

namespace fleet::bench {
namespace {

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

}  // namespace

void bench_publish(const Options& options) {
  auto admin = connect(options);
  ensure_stream(*admin, "BENCH_PUB", "bench.pub.>");
  const auto work = make_workload(options);
  compare(
      "publish", options, [&](int) { return raw_publish(options, work, "bench.pub.raw"); },
      [&](int) { return fleet_publish(options, work, "bench.pub.fleet"); });
}

void bench_consume(const Options& options) {
  auto admin = connect(options);
  const std::string stream = "BENCH_CONSUME";
  ensure_stream(*admin, stream, "bench.consume.>");
  // One stream of count messages, read by a fresh durable per side and round.
  fleet_publish(options, make_workload(options), "bench.consume.data");
  auto fresh_durable = [&](const std::string& name) {
    auto ok =
        admin->ensure_consumer({.stream = stream, .durable = name, .max_ack_pending = 10'000});
    if (!ok) throw std::runtime_error(ok.error().describe());
    return name;
  };
  compare(
      "consume", options,
      [&](int round) {
        return raw_consume(options, stream, fresh_durable("raw" + std::to_string(round)));
      },
      [&](int round) {
        return fleet_consume(options, stream, fresh_durable("fleet" + std::to_string(round)));
      });
}

}  // namespace fleet::bench
