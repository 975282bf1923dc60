// saga: the 3-step saga (every step done), end to end on one machine. fleet runs its roles as
// Worker bindings in this process (orchestrator: start, replies, timers; three participants that
// reply "done"). The raw side is a competent hand-written loop in cnats, one thread, no
// framework, as lean as a saga can be run (issue 15's baseline):
//   publishes    8: the start, 3 commands, 3 replies, 1 "completed" event
//   deliveries   7: start, 3 commands, 3 replies (one push consumer, acks after the batch's
//                   publishes are confirmed)
//   state writes 4: on start and per reply, plain asynchronous publishes to the KV bucket's
//                   subject: the loop owns its sagas, so it never reads state back and needs
//                   no compare-and-set; no timer, no lifecycle events but the last
// fleet does per saga: 12 publishes (4 lifecycle events and a watchdog timer among them), 8
// deliveries (the timer handed back once), 4 compare-and-set writes, and a state read only
// when its orchestrator did not write the state last (docs/architecture.md, "Sagas").
// Throughput: `count` start events are in the stream before the clock starts; timed until every
// saga completed. Latency: start events published at `rate` per second while the saga runs,
// from publish to the last reply handled.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <msgpack.hpp>

#include "common.hpp"
#include "fleet/runtime/handler.hpp"
#include "fleet/runtime/worker.hpp"
#include "fleet/saga/orchestrator.hpp"
#include "fleet/saga/participant.hpp"
#include "fleet/schemas/codec.hpp"
#include "fleet/schemas/envelope.hpp"
#include "order_fulfilment/orders.hpp"
#include "raw_nats.hpp"

namespace fleet::bench {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int steps = 3;
// Long enough that no timer comes due during a run: both sides pay a timer's due delivery later.
constexpr std::chrono::milliseconds step_timeout{60'000};

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

// When each saga was placed and how long it took; written by the placer and the engine.
class Tracker {
 public:
  explicit Tracker(std::uint64_t count) : placed_(count), latency_ms_(count, 0) {}
  void placed(std::uint64_t i) { placed_[i] = now_ns(); }
  void completed(std::uint64_t i) {
    if (i >= placed_.size()) return;
    latency_ms_[i] = static_cast<double>(now_ns() - placed_[i].load()) / 1e6;
    ++completed_;
  }
  std::uint64_t completed() const { return completed_.load(); }
  std::uint64_t count() const { return placed_.size(); }
  const std::vector<double>& latencies() const { return latency_ms_; }

 private:
  std::vector<std::atomic<std::int64_t>> placed_;
  std::vector<double> latency_ms_;
  std::atomic<std::uint64_t> completed_{0};
};

std::uint64_t saga_index(std::string_view id) {
  return id.size() > 1 ? std::stoull(std::string(id.substr(1))) : ~0ULL;
}

// Publishes `count` OrderPlaced events with envelope headers; at `rate` per second if > 0.
void place(const Options& options, const std::string& subject, Tracker& tracker, double rate) {
  auto transport = connect(options);
  const auto begin = Clock::now();
  for (std::uint64_t i = 0; i < tracker.count(); ++i) {
    if (rate > 0) {
      std::this_thread::sleep_until(begin + std::chrono::duration_cast<Clock::duration>(
                                                std::chrono::duration<double>(i / rate)));
    }
    schemas::OrderPlaced order{.order_id = "s" + std::to_string(i),
                               .customer_id = "c-1",
                               .sku = "sku-1",
                               .quantity = 1,
                               .amount_cents = 1'000,
                               .region = "north"};
    auto meta = schemas::new_metadata(std::string(schemas::OrderPlaced::type_name));
    tracker.placed(i);
    auto sent = transport->publish_async({.subject = subject,
                                          .headers = schemas::to_headers(meta),
                                          .body = schemas::encode(order),
                                          .dedup_id = meta.id},
                                         [](const auto&) {});
    if (!sent) throw std::runtime_error(sent.error().describe());
  }
  if (auto ok = transport->flush(std::chrono::seconds(60)); !ok) {
    throw std::runtime_error(ok.error().describe());
  }
}

void wait_completed(const Tracker& tracker) {
  const auto deadline = Clock::now() + std::chrono::minutes(5);
  while (tracker.completed() < tracker.count()) {
    if (Clock::now() > deadline) throw std::runtime_error("sagas did not complete in 5 minutes");
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

// Runs `engine` (returns when every saga completed) with the start events placed before it
// (rate 0) or alongside it at `rate`; returns sagas per second.
double drive(const Options& options, const std::string& subject, Tracker& tracker, double rate,
             const std::function<void()>& engine) {
  if (rate <= 0) {
    place(options, subject, tracker, 0);
    return timed(tracker.count(), engine);
  }
  std::jthread placer([&] { place(options, subject, tracker, rate); });
  return timed(tracker.count(), engine);
}

// ---- raw: one thread, cnats, one push consumer over the saga's input subjects ----

class RawSaga {
 public:
  RawSaga(const Options& options, const std::string& tag, Tracker& tracker)
      : tag_(tag),
        bucket_("bench_saga_" + tag),
        tracker_(tracker),
        headers_(make_workload(options).headers) {
    nc_ = raw::connect(options.url);
    jsOptions js_options;
    jsOptions_Init(&js_options);
    js_options.PublishAsync.MaxPending = options.max_in_flight;
    js_ = raw::jetstream(nc_.get(), &js_options);
    kvConfig kv_config;
    kvConfig_Init(&kv_config);
    kv_config.Bucket = bucket_.c_str();
    kv_config.History = 1;
    kvStore* kv = nullptr;
    raw::check(js_CreateKeyValue(&kv, js_.get(), &kv_config), "kv");
    kv_.reset(kv);
    jsSubOptions sub_options;
    jsSubOptions_Init(&sub_options);
    const std::string stream = "BSAGA_" + tag, durable = tag + "-raw";
    sub_options.Stream = stream.c_str();
    sub_options.ManualAck = true;
    sub_options.Config.Durable = durable.c_str();
    sub_options.Config.AckPolicy = js_AckExplicit;
    sub_options.Config.MaxAckPending = 100'000;
    natsSubscription* sub = nullptr;
    jsErrCode code{};
    const std::string inputs = tag + ".in.>";
    raw::check(js_SubscribeSync(&sub, js_.get(), inputs.c_str(), nullptr, &sub_options, &code),
               "subscribe");
    sub_.reset(sub);
  }

  void run() {
    std::vector<natsMsg*> batch;
    while (tracker_.completed() < tracker_.count()) {
      natsMsg* first = nullptr;
      natsStatus s = natsSubscription_NextMsg(&first, sub_.get(), 200);
      if (s == NATS_TIMEOUT) continue;
      raw::check(s, "next");
      batch.assign(1, first);
      int queued = 0, bytes = 0;
      natsSubscription_GetPending(sub_.get(), &queued, &bytes);
      for (int i = 0; i < std::min(queued, 255); ++i) {
        natsMsg* more = nullptr;
        if (natsSubscription_NextMsg(&more, sub_.get(), 1'000) != NATS_OK) break;
        batch.push_back(more);
      }
      for (natsMsg* msg : batch) handle(msg);
      jsPubOptions wait;
      jsPubOptions_Init(&wait);
      wait.MaxWait = 60'000;
      raw::check(js_PublishAsyncComplete(js_.get(), &wait), "complete");
      for (std::size_t i = 0; i < batch.size(); ++i) {
        natsMsg_Ack(batch[i], nullptr);
        natsMsg_Destroy(batch[i]);
      }
    }
  }

 private:
  using Kv = std::unique_ptr<kvStore, raw::Deleter<kvStore, kvStore_Destroy>>;

  // The single owner of every saga it runs: the state is written (for a restart to find) but
  // never read back, so each write is a plain asynchronous publish to the bucket's subject.
  void handle(natsMsg* msg) {
    const std::string subject = natsMsg_GetSubject(msg);
    const std::string_view kind = std::string_view(subject).substr(tag_.size() + 4);
    auto unpacked =
        msgpack::unpack(natsMsg_GetData(msg), static_cast<std::size_t>(natsMsg_GetDataLength(msg)));
    if (kind == "start") {
      auto order = unpacked.get().as<schemas::OrderPlaced>();
      std::string data(natsMsg_GetData(msg), static_cast<std::size_t>(natsMsg_GetDataLength(msg)));
      write_state(order.order_id, 0, data);
      publish(tag_ + ".in.cmd", pack_event(order.order_id, 0, data));
      running_.insert_or_assign(order.order_id, std::move(data));
      return;
    }
    auto event = unpacked.get().as<std::map<std::string, msgpack::object>>();
    const auto id = event.at("saga_id").as<std::string>();
    const auto step = event.at("step").as<std::uint32_t>();
    if (kind == "cmd") {
      publish(tag_ + ".in.reply", pack_event(id, step, {}));
      return;
    }
    // reply: write the next state, publish what follows.
    auto saga = running_.find(id);
    if (saga == running_.end()) return;  // a duplicate of the last reply
    write_state(id, step + 1, saga->second);
    if (step + 1 < steps) {
      publish(tag_ + ".in.cmd", pack_event(id, step + 1, saga->second));
    } else {
      publish(tag_ + ".life.completed", pack_event(id, step, {}));
      running_.erase(saga);
      tracker_.completed(saga_index(id));
    }
  }

  void write_state(const std::string& id, std::uint32_t step, const std::string& data) {
    const auto state = pack_state(id, step, data);
    const std::string subject = "$KV." + bucket_ + "." + key(id);
    raw::check(js_PublishAsync(js_.get(), subject.c_str(), state.data(),
                               static_cast<int>(state.size()), nullptr),
               "kv write");
  }

  std::string key(const std::string& id) const { return "saga." + id; }

  static std::string pack_state(const std::string& id, std::uint32_t step,
                                const std::string& data) {
    msgpack::sbuffer buffer;
    msgpack::packer packer(buffer);
    packer.pack_map(4);
    packer.pack(std::string("saga_id")).pack(id);
    packer.pack(std::string("step")).pack(step);
    packer.pack(std::string("status")).pack(std::string("running"));
    packer.pack(std::string("data")).pack_bin(static_cast<std::uint32_t>(data.size()));
    packer.pack_bin_body(data.data(), static_cast<std::uint32_t>(data.size()));
    return {buffer.data(), buffer.size()};
  }
  static std::string pack_event(const std::string& id, std::uint32_t step,
                                const std::string& data) {
    msgpack::sbuffer buffer;
    msgpack::packer packer(buffer);
    packer.pack_map(3);
    packer.pack(std::string("saga_id")).pack(id);
    packer.pack(std::string("step")).pack(step);
    packer.pack(std::string("data")).pack_bin(static_cast<std::uint32_t>(data.size()));
    packer.pack_bin_body(data.data(), static_cast<std::uint32_t>(data.size()));
    return {buffer.data(), buffer.size()};
  }

  void publish(const std::string& subject, const std::string& body) {
    natsMsg* out = nullptr;
    raw::check(
        natsMsg_Create(&out, subject.c_str(), nullptr, body.data(), static_cast<int>(body.size())),
        "msg");
    for (const auto& [name, value] : headers_) natsMsgHeader_Set(out, name.c_str(), value.c_str());
    const std::string id = tag_ + "-" + std::to_string(++published_);
    jsPubOptions pub;
    jsPubOptions_Init(&pub);
    pub.MsgId = id.c_str();
    if (js_PublishMsgAsync(js_.get(), &out, &pub) != NATS_OK) natsMsg_Destroy(out);
  }

  std::string tag_;
  std::string bucket_;
  Tracker& tracker_;
  fleet::Headers headers_;
  raw::Connection nc_;
  raw::Js js_;
  Kv kv_;
  raw::Sub sub_;
  std::uint64_t published_ = 0;
  std::unordered_map<std::string, std::string> running_;  // saga id -> its input body
};

void ensure_saga_stream(const Options& options, const std::string& tag) {
  auto admin = connect(options);
  std::vector<std::string> subjects{tag + ".>"};
  for (int s = 0; s < steps; ++s) subjects.push_back(tag + "s" + std::to_string(s) + ".>");
  if (auto ok = admin->ensure_stream({.name = "BSAGA_" + tag, .subjects = subjects}); !ok) {
    throw std::runtime_error(ok.error().describe());
  }
}

double raw_saga(const Options& options, const std::string& tag, Tracker& tracker, double rate) {
  ensure_saga_stream(options, tag);
  RawSaga saga(options, tag, tracker);
  return drive(options, tag + ".in.start", tracker, rate, [&] { saga.run(); });
}

// ---- fleet: the orchestrator's and the participants' bindings in one Worker ----

double fleet_saga(const Options& options, const std::string& tag, Tracker& tracker, double rate) {
  ensure_saga_stream(options, tag);
  const std::string stream = "BSAGA_" + tag;
  saga::Definition definition{.name = "bench_" + tag, .subject_prefix = tag + ".saga"};
  for (int s = 0; s < steps; ++s) {
    const std::string prefix = tag + "s" + std::to_string(s);
    definition.steps.push_back({.name = prefix,
                                .command_subject = prefix + ".do",
                                .compensation_subject = prefix + ".undo",
                                .timeout = step_timeout});
  }
  runtime::RoleSettings settings;
  settings.inbox = false;  // as the demo's participants: their ledgers make them idempotent
  auto transport = connect(options);
  auto bindings = saga::orchestrator_bindings(
      *transport, definition,
      {.role = tag + "o",
       .start_stream = stream,
       .start_subject = tag + ".start",
       .saga_stream = stream,
       .start = [](const schemas::Envelope& envelope) -> Result<saga::Start> {
         auto order = schemas::decode<schemas::OrderPlaced>(envelope.body);
         if (!order) return fail(order.error());
         return saga::Start{.saga_id = order->order_id,
                            .data = std::vector<char>(envelope.body.begin(), envelope.body.end()),
                            .started_at = envelope.meta.occurred_at};
       }},
      settings);
  if (!bindings) throw std::runtime_error(bindings.error().describe());
  // A saga is complete when the orchestrator applied the last step's "done".
  for (auto& b : *bindings) {
    if (b.subject != definition.reply_subject()) continue;
    b.middleware.push_back([&tracker](runtime::Handler next) -> runtime::Handler {
      return [&tracker, next](const schemas::Envelope& envelope, runtime::Context& context) {
        auto outcome = next(envelope, context);
        if (outcome.succeeded()) {
          auto reply = schemas::decode<schemas::StepReply>(envelope.body);
          if (reply && reply->step + 1 == steps && reply->outcome == saga::outcome::done) {
            tracker.completed(saga_index(reply->saga_id));
          }
        }
        return outcome;
      };
    });
  }
  for (int s = 0; s < steps; ++s) {
    bindings->push_back(saga::participant_binding(
        definition, static_cast<std::size_t>(s), stream, settings,
        [](const schemas::StepCommand& command, runtime::Context& context) {
          saga::reply(context, command, saga::outcome::done);
          return runtime::Outcome::ok();
        }));
  }
  runtime::Worker worker(*transport, {.drain_timeout = std::chrono::seconds(30)});
  for (auto& b : *bindings) {
    if (auto ok = worker.add(std::move(b)); !ok) throw std::runtime_error(ok.error().describe());
  }
  std::stop_source stop;
  std::jthread runner;
  // Stops the worker also when waiting fails, so the runner can be joined.
  const auto stopper = std::unique_ptr<std::stop_source, void (*)(std::stop_source*)>(
      &stop, [](std::stop_source* source) { source->request_stop(); });
  return drive(options, tag + ".start", tracker, rate, [&] {
    runner = std::jthread([&] { (void)worker.run(stop.get_token()); });
    wait_completed(tracker);
  });
}

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[static_cast<std::size_t>(p / 100.0 * static_cast<double>(values.size() - 1))];
}

void print_latency(const char* side, double rate, const Tracker& tracker) {
  const auto& l = tracker.latencies();
  std::printf("latency at %.0f sagas/s offered, %s: p50 %.1f ms  p95 %.1f ms  p99 %.1f ms\n", rate,
              side, percentile(l, 50), percentile(l, 95), percentile(l, 99));
}

}  // namespace

void bench_saga(const Options& options) {
  int run = 0;
  const auto tag = [&](const char* side) {
    return std::string("bs") + side + std::to_string(now_ns() % 100'000) + "x" +
           std::to_string(++run);
  };
  const auto raw = [&] {
    Tracker tracker(options.count);
    return raw_saga(options, tag("r"), tracker, 0);
  };
  const auto fleet = [&] {
    Tracker tracker(options.count);
    return fleet_saga(options, tag("f"), tracker, 0);
  };
  // Rounds alternate who goes first; the best round of each side counts.
  double best_raw = 0, best_fleet = 0;
  for (int round = 1; round <= options.rounds; ++round) {
    double r = 0, f = 0;
    if (options.only != "fleet" && round % 2 == 1) r = raw();
    if (options.only != "raw") f = fleet();
    if (options.only != "fleet" && round % 2 == 0) r = raw();
    std::printf("round %d: raw %.0f sagas/s, fleet %.0f sagas/s\n", round, r, f);
    std::fflush(stdout);
    best_raw = std::max(best_raw, r);
    best_fleet = std::max(best_fleet, f);
  }
  if (options.rate > 0) {
    // A fixed offered rate for up to 10 s, each side once.
    const auto latency_count = static_cast<std::uint64_t>(
        std::max(1.0, std::min(static_cast<double>(options.count), options.rate * 10)));
    if (options.only != "fleet") {
      Tracker tracker(latency_count);
      raw_saga(options, tag("r"), tracker, options.rate);
      print_latency("raw cnats", options.rate, tracker);
    }
    if (options.only != "raw") {
      Tracker tracker(latency_count);
      fleet_saga(options, tag("f"), tracker, options.rate);
      print_latency("fleet", options.rate, tracker);
    }
  }
  std::printf("saga raw cnats: %10.0f sagas/s\n", best_raw);
  std::printf("saga fleet:     %10.0f sagas/s\n", best_fleet);
  if (options.only.empty()) std::printf("ratio: %.2f\n", best_fleet / best_raw);
}

}  // namespace fleet::bench
