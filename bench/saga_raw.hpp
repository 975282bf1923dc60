// What the saga bench's two hand-written sides share (saga_raw_lean.cpp,
// saga_raw_design.cpp): one cnats connection with the states' KV bucket and one
// push consumer over the saga's inputs
// ("<tag>.in.>"), the batch read, the msgpack bodies, and the publish of an
// event with a real envelope's headers. Header-only: two small users.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <msgpack.hpp>

#include "raw_nats.hpp"
#include "saga_drive.hpp"

namespace fleet::bench::saga_bench {

class RawSagaLoop {
 protected:
  // `ack_handler` (with `closure`): cnats' jsOptions.PublishAsync.AckHandler,
  // which then owns every acked message; none = cnats destroys them.
  RawSagaLoop(const Options& options, const std::string& tag, Tracker& tracker,
              jsPubAckHandler ack_handler = nullptr, void* closure = nullptr)
      : tag_(tag),
        bucket_("bench_saga_" + tag),
        tracker_(tracker),
        headers_(make_workload(options).headers) {
    nc_ = raw::connect(options.url);
    jsOptions js_options;
    jsOptions_Init(&js_options);
    js_options.PublishAsync.MaxPending = options.max_in_flight;
    js_options.PublishAsync.AckHandler = ack_handler;
    js_options.PublishAsync.AckHandlerClosure = closure;
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

  bool running() const { return tracker_.completed() < tracker_.count(); }

  // Up to 256 inputs: waits up to 200 ms for the first, then takes what is
  // already queued. Empty = nothing arrived. The caller settles and destroys
  // them.
  std::vector<natsMsg*> next_batch() {
    std::vector<natsMsg*> batch;
    natsMsg* first = nullptr;
    const natsStatus s = natsSubscription_NextMsg(&first, sub_.get(), 200);
    if (s == NATS_TIMEOUT) return batch;
    raw::check(s, "next");
    batch.push_back(first);
    int queued = 0, bytes = 0;
    natsSubscription_GetPending(sub_.get(), &queued, &bytes);
    for (int i = 0; i < std::min(queued, 255); ++i) {
      natsMsg* more = nullptr;
      if (natsSubscription_NextMsg(&more, sub_.get(), 1'000) != NATS_OK) break;
      batch.push_back(more);
    }
    return batch;
  }

  // Waits until every asynchronous publish so far is acked.
  void complete_publishes() {
    jsPubOptions wait;
    jsPubOptions_Init(&wait);
    wait.MaxWait = 60'000;
    raw::check(js_PublishAsyncComplete(js_.get(), &wait), "complete");
  }

  // "start", "cmd", "reply", "timer": the input subject after "<tag>.in.".
  std::string_view kind_of(const std::string& subject) const {
    return std::string_view(subject).substr(tag_.size() + 4);
  }

  // An event with the envelope's headers and a message id, published
  // asynchronously.
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
    if (js_PublishMsgAsync(js_.get(), &out, &pub) != NATS_OK) {
      natsMsg_Destroy(out);
      throw std::runtime_error("publish: " + std::string(nats_GetLastError(nullptr)));
    }
  }

  std::string state_subject(const std::string& id) const {
    return "$KV." + bucket_ + ".saga." + id;
  }

  static std::string pack_state(const std::string& id, std::uint32_t step,
                                const std::string& status, const std::string& data) {
    msgpack::sbuffer buffer;
    msgpack::packer packer(buffer);
    packer.pack_map(4);
    packer.pack(std::string("saga_id")).pack(id);
    packer.pack(std::string("step")).pack(step);
    packer.pack(std::string("status")).pack(status);
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

  using Kv = std::unique_ptr<kvStore, raw::Deleter<kvStore, kvStore_Destroy>>;

  std::string tag_;
  std::string bucket_;
  Tracker& tracker_;
  fleet::Headers headers_;
  raw::Connection nc_;
  raw::Js js_;
  Kv kv_;
  raw::Sub sub_;
  std::uint64_t published_ = 0;
};

}  // namespace fleet::bench::saga_bench
