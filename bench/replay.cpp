// fleet-bench replay: move `count` dead letters back to their original subject. Each round fills
// a fresh DLQ-like stream (untimed), then times: read every entry, republish it without its
// failure headers, and remove it from the DLQ once the republish was acked.
//   fleet: what `fleet dlq replay --yes` runs: dlq::replay_matching (publishes while it reads)
//          over Transport and StreamStore.
//   raw:   the same broker operations by hand: an ordered consumer reads the stream, each entry
//          is republished with js_PublishMsgAsync, and after js_PublishAsyncComplete every entry
//          is removed with a pipelined $JS.API.STREAM.MSG.DELETE request.
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "common.hpp"
#include "fleet/dlq/filter.hpp"
#include "fleet/dlq/replay.hpp"
#include "fleet/runtime/dead_letter.hpp"
#include "fleet/schemas/envelope.hpp"
#include "raw_nats.hpp"

namespace fleet::bench {
namespace {

const std::string kOriginal = "bench.replay.x";

// Fills stream `name` (subjects "<prefix>>") with `count` dead letters of kOriginal.
void fill(const Options& options, const Workload& work, const std::string& name,
          const std::string& prefix) {
  auto transport = connect(options);
  ensure_stream(*transport, name, prefix + ">");
  const std::string id_prefix = schemas::new_event_id();
  std::atomic<std::uint64_t> failed{0};
  for (std::uint64_t i = 0; i < options.count; ++i) {
    broker::Message m{.subject = prefix + kOriginal, .headers = work.headers, .body = work.payload};
    m.headers[std::string(schemas::header::id)] = id_prefix + std::to_string(i);
    m.headers[std::string(schemas::dlq_header::original_subject)] = kOriginal;
    m.headers[std::string(schemas::dlq_header::error_class)] = "timeout";
    m.headers[std::string(schemas::dlq_header::error_message)] = "handler ran past its deadline";
    m.headers[std::string(schemas::dlq_header::attempts)] = "5";
    m.headers[std::string(schemas::dlq_header::role)] = "bench";
    m.headers[std::string(schemas::dlq_header::last_failed_at)] = schemas::now_rfc3339();
    auto ok = transport->publish_async(m, [&](const auto& ack) {
      if (!ack) ++failed;
    });
    if (!ok) ++failed;
  }
  if (!transport->flush(std::chrono::seconds(60)) || failed > 0) {
    throw std::runtime_error("filling " + name + " failed");
  }
}

double fleet_replay(const Options& options, const std::string& stream, const std::string& prefix) {
  auto transport = connect(options);
  return timed(options.count, [&] {
    auto store = transport->stream_store(stream);
    if (!store) throw std::runtime_error(store.error().describe());
    const auto counts =
        dlq::replay_matching(*transport, **store, {}, prefix, {}, schemas::Registry::builtin(), {});
    if (counts.done != options.count) {
      throw std::runtime_error("fleet replay: " + std::to_string(counts.failed) + " failed");
    }
  });
}

// Counts answers to the raw side's delete requests.
struct Deletes {
  std::mutex mu;
  std::condition_variable cv;
  std::uint64_t answered = 0;
  std::uint64_t failed = 0;

  static void on_reply(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
    auto& self = *static_cast<Deletes*>(closure);
    const std::string_view body(natsMsg_GetData(msg),
                                static_cast<std::size_t>(natsMsg_GetDataLength(msg)));
    const bool ok = body.find("\"success\":true") != std::string_view::npos;
    natsMsg_Destroy(msg);
    std::lock_guard lock(self.mu);
    ++self.answered;
    if (!ok) ++self.failed;
    self.cv.notify_all();
  }
};

double raw_replay(const Options& options, const std::string& stream) {
  auto nc = raw::connect(options.url);
  jsOptions js_options;
  jsOptions_Init(&js_options);
  js_options.PublishAsync.MaxPending = options.max_in_flight;
  auto js = raw::jetstream(nc.get(), &js_options);
  Deletes deletes;
  natsSubscription* raw_replies = nullptr;
  raw::check(
      natsConnection_Subscribe(&raw_replies, nc.get(), "_BENCH_DEL.*", Deletes::on_reply, &deletes),
      "subscribe");
  raw::Sub replies(raw_replies);
  natsSubscription_SetPendingLimits(replies.get(), -1, -1);
  const std::string delete_subject = "$JS.API.STREAM.MSG.DELETE." + stream;

  return timed(options.count, [&] {
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = stream.c_str();
    so.Ordered = true;
    natsSubscription* raw_sub = nullptr;
    jsErrCode code{};
    raw::check(js_SubscribeSync(&raw_sub, js.get(), ">", nullptr, &so, &code), "ordered");
    raw::Sub sub(raw_sub);
    std::vector<std::uint64_t> sequences;
    sequences.reserve(options.count);
    while (sequences.size() < options.count) {
      natsMsg* raw_msg = nullptr;
      raw::check(natsSubscription_NextMsg(&raw_msg, sub.get(), 10'000), "next");
      raw::Msg msg(raw_msg);
      jsMsgMetaData* meta = nullptr;
      raw::check(natsMsg_GetMetaData(&meta, msg.get()), "metadata");
      sequences.push_back(meta->Sequence.Stream);
      jsMsgMetaData_Destroy(meta);

      const char* original = nullptr;
      natsMsgHeader_Get(msg.get(), "Fleet-Dlq-Original-Subject", &original);
      natsMsg* out = nullptr;
      raw::check(natsMsg_Create(&out, original, nullptr, natsMsg_GetData(msg.get()),
                                natsMsg_GetDataLength(msg.get())),
                 "msg");
      const char** keys = nullptr;
      int count = 0;
      raw::check(natsMsgHeader_Keys(msg.get(), &keys, &count), "keys");
      for (int i = 0; i < count; ++i) {
        if (std::string_view(keys[i]).starts_with("Fleet-Dlq-")) continue;
        const char* value = nullptr;
        natsMsgHeader_Get(msg.get(), keys[i], &value);
        natsMsgHeader_Set(out, keys[i], value);
      }
      std::free(static_cast<void*>(keys));
      const std::string id = "replay-" + std::to_string(sequences.back());
      jsPubOptions pub;
      jsPubOptions_Init(&pub);
      pub.MsgId = id.c_str();
      if (js_PublishMsgAsync(js.get(), &out, &pub) != NATS_OK) natsMsg_Destroy(out);
    }
    natsSubscription_Unsubscribe(sub.get());
    jsPubOptions wait;
    jsPubOptions_Init(&wait);
    wait.MaxWait = 60'000;
    raw::check(js_PublishAsyncComplete(js.get(), &wait), "complete");
    for (std::size_t i = 0; i < sequences.size(); ++i) {
      const std::string body = "{\"seq\":" + std::to_string(sequences[i]) + ",\"no_erase\":true}";
      const std::string reply = "_BENCH_DEL." + std::to_string(i);
      raw::check(natsConnection_PublishRequest(nc.get(), delete_subject.c_str(), reply.c_str(),
                                               body.data(), static_cast<int>(body.size())),
                 "delete");
    }
    std::unique_lock lock(deletes.mu);
    if (!deletes.cv.wait_for(lock, std::chrono::seconds(60),
                             [&] { return deletes.answered >= options.count; }) ||
        deletes.failed > 0) {
      throw std::runtime_error("raw replay: deletes failed or unanswered");
    }
    deletes.answered = 0;
  });
}

}  // namespace

void bench_replay(const Options& options) {
  auto admin = connect(options);
  ensure_stream(*admin, "BENCH_REPLAY", "bench.replay.>");
  const auto work = make_workload(options);
  auto round_stream = [&](const char* side, int round) {
    const std::string name = std::string("BENCH_DLQ_") + side + std::to_string(round);
    const std::string prefix = std::string("benchdlq") + side + std::to_string(round) + ".";
    fill(options, work, name, prefix);
    return std::pair{name, prefix};
  };
  compare(
      "replay", options,
      [&](int round) {
        auto [name, prefix] = round_stream("raw", round);
        return raw_replay(options, name);
      },
      [&](int round) {
        auto [name, prefix] = round_stream("fleet", round);
        return fleet_replay(options, name, prefix);
      });
}

}  // namespace fleet::bench
