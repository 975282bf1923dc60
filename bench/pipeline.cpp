// pipeline: consume -> decode -> handle -> publish one follow-up -> ack after the follow-up is
// confirmed. fleet runs it as a Worker binding; the raw loop does the same broker operations by
// hand, pipelining a fetched batch (publish all follow-ups, wait for their acks, ack the inputs).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>

#include <msgpack.hpp>

#include "common.hpp"
#include "fleet/runtime/handler.hpp"
#include "fleet/runtime/worker.hpp"
#include "fleet/schemas/codec.hpp"
#include "fleet/schemas/envelope.hpp"
#include "fleet/schemas/events/bench.hpp"
#include "raw_nats.hpp"

namespace fleet::bench {
namespace {

using fleet::schemas::Payload;
constexpr const char* stream = "BENCH_PIPE";

void publish_inputs(const Options& options, const std::string& subject) {
  auto transport = connect(options);
  Payload payload{.seq = 0, .data = std::string(options.size, 'x')};
  for (std::uint64_t i = 0; i < options.count; ++i) {
    payload.seq = i;
    auto meta = schemas::new_metadata(std::string(Payload::type_name));
    auto sent = transport->publish_async({.subject = subject,
                                          .headers = schemas::to_headers(meta),
                                          .body = schemas::encode(payload),
                                          .dedup_id = meta.id},
                                         [](const auto&) {});
    if (!sent) throw std::runtime_error(sent.error().describe());
  }
  if (auto ok = transport->flush(std::chrono::seconds(60)); !ok) {
    throw std::runtime_error(ok.error().describe());
  }
}

void ensure_durable(broker::Transport& admin, const std::string& durable,
                    const std::string& subject) {
  auto ok = admin.ensure_consumer(
      {.stream = stream, .durable = durable, .filter_subject = subject, .max_ack_pending = 10'000});
  if (!ok) throw std::runtime_error(ok.error().describe());
}

// Both sides end the same way: once the server reports the durable with nothing pending and
// nothing unacked (every input handled and its ack stored), asked on a connection of its own.
void wait_settled(jsCtx* js, const std::string& durable) {
  for (;;) {
    jsConsumerInfo* info = nullptr;
    jsErrCode code{};
    raw::check(js_GetConsumerInfo(&info, js, stream, durable.c_str(), nullptr, &code),
               "consumer info");
    const bool settled = info->NumPending == 0 && info->NumAckPending == 0;
    jsConsumerInfo_Destroy(info);
    if (settled) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

// The raw sides' set-up: the inputs published, their durable, and a cnats connection and
// JetStream context. The pull subscription is made inside the timed part, as fleet's worker
// subscribes inside its own.
struct RawPull {
  RawPull(const Options& options, const std::string& subject, const std::string& durable) {
    publish_inputs(options, subject);
    auto admin = connect(options);
    ensure_durable(*admin, durable, subject);
    nc = raw::connect(options.url);
    jsOptions js_options;
    jsOptions_Init(&js_options);
    js_options.PublishAsync.MaxPending = options.max_in_flight;
    js = raw::jetstream(nc.get(), &js_options);
    admin_nc = raw::connect(options.url);
    admin_js = raw::jetstream(admin_nc.get(), nullptr);
    this->subject = subject;
    this->durable = durable;
  }
  // Fetches batches of 256 until `count` messages were handled: `follow_up(message, index)`
  // publishes each one's follow-up asynchronously, then every ack is awaited and the batch
  // acked. With an inbox, `look_up(batch)` runs before the follow-ups and `settle(batch)` after
  // their confirmations, before the acks. Returns the rate.
  using BatchStep = std::function<void(natsMsgList&)>;
  double run(std::uint64_t count, const std::function<void(natsMsg*, std::uint64_t)>& follow_up,
             const BatchStep& look_up = {}, const BatchStep& settle = {}) {
    jsErrCode code{};
    std::uint64_t done = 0;
    return timed(count, [&] {
      jsSubOptions sub_options;
      jsSubOptions_Init(&sub_options);
      sub_options.Stream = stream;
      sub_options.Consumer = durable.c_str();
      natsSubscription* raw_sub = nullptr;
      raw::check(js_PullSubscribe(&raw_sub, js.get(), subject.c_str(), durable.c_str(), nullptr,
                                  &sub_options, &code),
                 "pull subscribe");
      sub.reset(raw_sub);
      while (done < count) {
        natsMsgList list{};
        natsStatus s = natsSubscription_Fetch(&list, sub.get(), 256, 1'000, &code);
        if (s == NATS_TIMEOUT) continue;
        raw::check(s, "fetch");
        if (look_up) look_up(list);
        for (int i = 0; i < list.Count; ++i) follow_up(list.Msgs[i], done + i);
        complete("complete");
        if (settle) settle(list);
        for (int i = 0; i < list.Count; ++i) natsMsg_Ack(list.Msgs[i], nullptr);
        done += static_cast<std::uint64_t>(list.Count);
        natsMsgList_Destroy(&list);
      }
      wait_settled(admin_js.get(), durable);
    });
  }

  // Waits until every asynchronous publish so far is confirmed (at most 60 s).
  void complete(const char* what) {
    jsPubOptions wait;
    jsPubOptions_Init(&wait);
    wait.MaxWait = 60'000;
    raw::check(js_PublishAsyncComplete(js.get(), &wait), what);
  }

  raw::Connection nc;  // declared first: destroyed last
  raw::Js js;
  raw::Sub sub;
  raw::Connection admin_nc;  // asks for the durable's state (wait_settled)
  raw::Js admin_js;
  std::string subject;
  std::string durable;
};

// The raw loop's follow-up: decode, re-encode, copy the envelope headers, publish with a dedup id
// unique to the side and round (the sides share the output stream and its duplicate window).
void raw_follow_up(RawPull& pull, const std::string& side, natsMsg* in, std::uint64_t index) {
  msgpack::object_handle handle =
      msgpack::unpack(natsMsg_GetData(in), static_cast<std::size_t>(natsMsg_GetDataLength(in)));
  Payload payload = handle.get().as<Payload>();
  msgpack::sbuffer body;
  msgpack::pack(body, payload);
  natsMsg* out = nullptr;
  raw::check(
      natsMsg_Create(&out, "bench.pipe.out", nullptr, body.data(), static_cast<int>(body.size())),
      "msg");
  const char* value = nullptr;
  for (const char* name : {"Fleet-Id", "Fleet-Type", "Fleet-Schema-Version", "Fleet-Occurred-At",
                           "Fleet-Correlation-Id", "traceparent"}) {
    if (natsMsgHeader_Get(in, name, &value) == NATS_OK) natsMsgHeader_Set(out, name, value);
  }
  const std::string id = side + "-" + std::to_string(index);
  jsPubOptions pub;
  jsPubOptions_Init(&pub);
  pub.MsgId = id.c_str();
  if (js_PublishMsgAsync(pull.js.get(), &out, &pub) != NATS_OK) natsMsg_Destroy(out);
}

double raw_pipeline(const Options& options, int round) {
  const std::string subject = "bench.pipe.in.raw" + std::to_string(round);
  const std::string durable = "raw" + std::to_string(round);
  RawPull pull(options, subject, durable);
  return pull.run(options.count, [&](natsMsg* in, std::uint64_t index) {
    raw_follow_up(pull, durable, in, index);
  });
}

// The raw loop with an inbox done by hand, the broker operations fleet's inbox makes: per
// fetched batch one direct get per message, all written before the first answer is awaited
// (`$JS.API.DIRECT.GET.KV_<bucket>`, last message on `$KV.<bucket>.handled.<id>`); the follow-ups
// of the ids not found; once those are confirmed, a KV put per handled id; once those are
// confirmed, the acks. It shows what the inbox's operations cost on this server whoever makes
// them, so fleet's inbox on / off figure has a floor to be read against.
double raw_inbox_pipeline(const Options& options, int round) {
  const std::string subject = "bench.pipe.in.rawinbox" + std::to_string(round);
  const std::string durable = "rawinbox" + std::to_string(round);
  const std::string bucket = "inbox_rawinbox" + std::to_string(round);
  auto admin = connect(options);
  if (auto kv = admin->key_value({.name = bucket, .ttl = std::chrono::hours(24)}); !kv) {
    throw std::runtime_error(kv.error().describe());
  }
  RawPull pull(options, subject, durable);
  const std::string api = "$JS.API.DIRECT.GET.KV_" + bucket;
  const std::string key_head = "$KV." + bucket + ".handled.";
  const std::string body_head = "{\"last_by_subj\":\"" + key_head;
  raw::Sub answers;
  char reply_inbox[64] = {};
  std::snprintf(reply_inbox, sizeof reply_inbox, "_INBOX.rawinbox%d", round);
  const std::string wildcard = std::string(reply_inbox) + ".*";
  natsSubscription* raw_answers = nullptr;
  raw::check(natsConnection_SubscribeSync(&raw_answers, pull.nc.get(), wildcard.c_str()), "sub");
  answers.reset(raw_answers);
  std::vector<char> seen;  // per message of the batch: its id was found in the inbox
  std::uint64_t batch_start = 0;
  auto id_of = [](natsMsg* in) {
    const char* id = nullptr;
    raw::check(natsMsgHeader_Get(in, "Fleet-Id", &id), "Fleet-Id");
    return id;
  };
  auto look_up = [&](natsMsgList& list) {
    seen.assign(static_cast<std::size_t>(list.Count), 0);
    std::string body, reply;
    for (int i = 0; i < list.Count; ++i) {
      body.assign(body_head).append(id_of(list.Msgs[i])).append("\"}");
      reply.assign(reply_inbox).append(".").append(std::to_string(i));
      raw::check(natsConnection_PublishRequest(pull.nc.get(), api.c_str(), reply.c_str(),
                                               body.data(), static_cast<int>(body.size())),
                 "direct get");
    }
    for (int got = 0; got < list.Count; ++got) {
      natsMsg* raw_answer = nullptr;
      raw::check(natsSubscription_NextMsg(&raw_answer, answers.get(), 10'000), "direct get answer");
      raw::Msg answer(raw_answer);
      const char* status = nullptr;
      const bool missing = natsMsgHeader_Get(answer.get(), "Status", &status) == NATS_OK;
      const std::string_view subject_of(natsMsg_GetSubject(answer.get()));
      const auto index = std::stoul(std::string(subject_of.substr(subject_of.rfind('.') + 1)));
      seen[index] = missing ? 0 : 1;
    }
  };
  return pull.run(
      options.count,
      [&](natsMsg* in, std::uint64_t index) {
        if (seen[index - batch_start] == 0) raw_follow_up(pull, durable, in, index);
      },
      look_up,
      [&](natsMsgList& list) {
        std::string key;
        for (int i = 0; i < list.Count; ++i) {
          if (seen[static_cast<std::size_t>(i)] != 0) continue;  // acked without a write
          key.assign(key_head).append(id_of(list.Msgs[i]));
          raw::check(js_PublishAsync(pull.js.get(), key.c_str(), nullptr, 0, nullptr), "inbox put");
        }
        pull.complete("inbox complete");
        batch_start += static_cast<std::uint64_t>(list.Count);
      });
}

// The floor under both: the same broker operations with no envelope at all (no headers copied,
// no msgpack): fetch 256, publish each body as the follow-up, await the acks, ack the inputs.
double bare_pipeline(const Options& options, int round) {
  const std::string subject = "bench.pipe.in.bare" + std::to_string(round);
  const std::string durable = "bare" + std::to_string(round);
  RawPull pull(options, subject, durable);
  return pull.run(options.count, [&](natsMsg* in, std::uint64_t) {
    if (js_PublishAsync(pull.js.get(), "bench.pipe.out", natsMsg_GetData(in),
                        natsMsg_GetDataLength(in), nullptr) != NATS_OK) {
      throw std::runtime_error("bare publish failed");
    }
  });
}

double fleet_pipeline(const Options& options, int round, bool inbox) {
  const std::string tag = (inbox ? "inbox" : "fleet") + std::to_string(round);
  const std::string subject = "bench.pipe.in." + tag;
  publish_inputs(options, subject);
  auto admin_nc = raw::connect(options.url);
  auto admin_js = raw::jetstream(admin_nc.get(), nullptr);
  auto transport = connect(options);
  std::atomic<std::uint64_t> handled{0};
  runtime::Worker worker(*transport, {.drain_timeout = std::chrono::seconds(30)});
  auto added = worker.add(
      {.role = tag,
       .stream = stream,
       .subject = subject,
       .handler = runtime::typed<Payload>([&](const Payload& payload, runtime::Context& context) {
         context.publish("bench.pipe.out", payload);
         handled.fetch_add(1, std::memory_order_relaxed);
         return runtime::Outcome::ok();
       }),
       .concurrency = options.lanes,
       .max_in_flight = 512,
       .max_ack_pending = 10'000,
       .inbox = inbox});
  if (!added) throw std::runtime_error(added.error().describe());
  std::stop_source stop;
  std::jthread runner;
  const double rate = timed(options.count, [&] {
    runner = std::jthread([&] { (void)worker.run(stop.get_token()); });
    // Asking the server for consumer state is itself load: only ask once all were handled.
    while (handled.load(std::memory_order_relaxed) < options.count) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    wait_settled(admin_js.get(), tag);
  });
  // The worker's stop (the drain and the flush; its long-poll fetch is ended at once) is not
  // timed, as the raw loops' teardown is not.
  stop.request_stop();
  runner.join();
  return rate;
}

}  // namespace

void bench_pipeline(const Options& options) {
  if (options.transport == "kafka") return bench_pipeline_kafka(options);
  auto admin = connect(options);
  ensure_stream(*admin, stream, "bench.pipe.>");
  if (!options.only.empty()) {
    compare(
        "pipeline", options, [&](int round) { return raw_pipeline(options, round); },
        [&](int round) { return fleet_pipeline(options, round, options.only == "inbox"); });
    return;
  }
  // Five sides per round, in an order that rotates, so none always runs first on a warm server.
  // The inbox adds a lookup and a write per message that the raw loop does not do: fleet with it
  // is shown against fleet without it, and the raw loop with the same operations by hand against
  // the raw loop, the floor of what the inbox's operations cost on this server.
  double best_raw = 0, best_fleet = 0, best_inbox = 0, best_bare = 0, best_raw_inbox = 0;
  for (int round = 1; round <= options.rounds; ++round) {
    double r = 0, f = 0, i = 0, b = 0, ri = 0;
    const std::function<void()> sides[] = {[&] { r = raw_pipeline(options, round); },
                                           [&] { f = fleet_pipeline(options, round, false); },
                                           [&] { i = fleet_pipeline(options, round, true); },
                                           [&] { b = bare_pipeline(options, round); },
                                           [&] { ri = raw_inbox_pipeline(options, round); }};
    for (int k = 0; k < 5; ++k) sides[(k + round - 1) % 5]();
    std::printf(
        "round %d: raw %.0f/s, fleet %.0f/s, raw+inbox %.0f/s, fleet+inbox %.0f/s, bare %.0f/s\n",
        round, r, f, ri, i, b);
    std::fflush(stdout);
    best_raw = std::max(best_raw, r);
    best_fleet = std::max(best_fleet, f);
    best_inbox = std::max(best_inbox, i);
    best_bare = std::max(best_bare, b);
    best_raw_inbox = std::max(best_raw_inbox, ri);
  }
  std::printf("bare loop (no envelope): %.0f msg/s; fleet / bare: %.2f\n", best_bare,
              best_bare > 0 ? best_fleet / best_bare : 0.0);
  std::printf("raw with the inbox by hand: %.0f msg/s; inbox on / off: %.2f\n", best_raw_inbox,
              best_raw > 0 ? best_raw_inbox / best_raw : 0.0);
  std::printf("fleet with the inbox on: %.0f msg/s; inbox on / off: %.2f; fleet / raw: %.2f\n",
              best_inbox, best_fleet > 0 ? best_inbox / best_fleet : 0.0,
              best_raw_inbox > 0 ? best_inbox / best_raw_inbox : 0.0);
  report("pipeline", options, best_raw, best_fleet);
}

}  // namespace fleet::bench
