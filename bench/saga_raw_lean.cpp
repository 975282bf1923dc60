// saga, raw lean side: a competent hand-written loop in cnats, one thread, no framework, as lean
// as a saga can be run (issue 15's baseline), not the operations of fleet's design:
//   publishes    8: the start, 3 commands, 3 replies, 1 "completed" event
//   deliveries   7: start, 3 commands, 3 replies (one push consumer, acks after the batch's
//                   publishes are confirmed)
//   state writes 4: on start and per reply, plain asynchronous publishes to the KV bucket's
//                   subject: the loop owns its sagas, so it never reads state back and needs
//                   no compare-and-set; no timer, no lifecycle events but the last
#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <msgpack.hpp>

#include "fleet/schemas/codec.hpp"
#include "order_fulfilment/orders.hpp"
#include "raw_nats.hpp"
#include "saga_drive.hpp"

namespace fleet::bench::saga_bench {
namespace {

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

}  // namespace

double raw_lean_saga(const Options& options, const std::string& tag, Tracker& tracker,
                     double rate) {
  ensure_saga_stream(options, tag);
  RawSaga saga(options, tag, tracker);
  return drive(options, tag + ".in.start", tracker, rate, [&] { saga.run(); });
}

}  // namespace fleet::bench::saga_bench
