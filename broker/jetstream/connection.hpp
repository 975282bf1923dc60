// Ownership of cnats handles. Every C handle lives in one of the unique_ptr aliases below, so no
// code outside these deleters calls a cnats *_Destroy function.
//
// Connection owns one NATS connection and its JetStream context. It is shared (shared_ptr) by the
// transport, its subscriptions and their unsettled deliveries, which are settled by publishing
// on this connection, so it must outlive every Delivery.
#pragma once

#include <nats/nats.h>

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <memory>

#include "fleet/broker/jetstream.hpp"
#include "fleet/error.hpp"

namespace fleet::broker::jetstream {

template <auto DestroyFn>
struct Destroy {
  template <class T>
  void operator()(T* handle) const noexcept {
    DestroyFn(handle);
  }
};

using OptionsPtr = std::unique_ptr<natsOptions, Destroy<natsOptions_Destroy>>;
using NatsConnectionPtr = std::unique_ptr<natsConnection, Destroy<natsConnection_Destroy>>;
using JsCtxPtr = std::unique_ptr<jsCtx, Destroy<jsCtx_Destroy>>;
using SubscriptionPtr = std::unique_ptr<natsSubscription, Destroy<natsSubscription_Destroy>>;
using MsgPtr = std::unique_ptr<natsMsg, Destroy<natsMsg_Destroy>>;
using PubAckPtr = std::unique_ptr<jsPubAck, Destroy<jsPubAck_Destroy>>;
using StreamInfoPtr = std::unique_ptr<jsStreamInfo, Destroy<jsStreamInfo_Destroy>>;
using StreamInfoListPtr = std::unique_ptr<jsStreamInfoList, Destroy<jsStreamInfoList_Destroy>>;
using ConsumerInfoPtr = std::unique_ptr<jsConsumerInfo, Destroy<jsConsumerInfo_Destroy>>;
using ConsumerInfoListPtr =
    std::unique_ptr<jsConsumerInfoList, Destroy<jsConsumerInfoList_Destroy>>;
using MetaDataPtr = std::unique_ptr<jsMsgMetaData, Destroy<jsMsgMetaData_Destroy>>;
using KvStorePtr = std::unique_ptr<kvStore, Destroy<kvStore_Destroy>>;
using KvEntryPtr = std::unique_ptr<kvEntry, Destroy<kvEntry_Destroy>>;

// natsMsgHeader_Keys returns a malloc'ed array of pointers into the message: free the array only.
struct FreeArray {
  void operator()(const char** keys) const noexcept { std::free(static_cast<void*>(keys)); }
};
using HeaderKeysPtr = std::unique_ptr<const char*[], FreeArray>;

// natsMsgList is a by-value struct (array + count). natsMsgList_Destroy skips NULL slots, so a
// message is taken out by nulling its slot.
class MsgList {
 public:
  MsgList() = default;
  MsgList(const MsgList&) = delete;
  MsgList& operator=(const MsgList&) = delete;
  ~MsgList() {
    if (list_.Msgs != nullptr) natsMsgList_Destroy(&list_);
  }

  natsMsgList* out() { return &list_; }
  int size() const { return list_.Count; }
  MsgPtr take(int i) {
    MsgPtr msg(list_.Msgs[i]);
    list_.Msgs[i] = nullptr;
    return msg;
  }

 private:
  natsMsgList list_{};
};

class PublishTracker;

class Connection {
 public:
  // Errc::unavailable when no server in config.url answers within config.connect_timeout.
  static Result<std::shared_ptr<Connection>> open(const Config& config);

  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  natsConnection* nats() const { return nc_.get(); }
  jsCtx* js() const { return js_.get(); }
  PublishTracker& publishes() const { return *publishes_; }
  bool connected() const;
  // Writes what cnats buffered for the socket now. cnats' flusher thread, woken by a publish,
  // waits 1 ms for more before it writes (conn.c, _flusher), which batches well under heavy
  // load but adds up to 1 ms to every hop a message waits on. Called where messages something
  // waits for were just published: a handler's state writes and follow-ups (the next hop), a
  // batch of direct gets, a relay batch. Acks and pull requests, which no hop waits on, stay with
  // the flusher; cnats' own requests (js_PublishMsg, kvStore_Get) are written at once by cnats
  // already. A no-op with Config::send_asap (cnats wrote each one already).
  void send_now() const;

  struct Events;  // connection event callbacks and the reconnect backoff (connection.cpp)

 private:
  explicit Connection(std::size_t in_flight);

  // Declared first so it is destroyed last: the JetStream context's ack handler points into it.
  std::unique_ptr<PublishTracker> publishes_;
  NatsConnectionPtr nc_;
  JsCtxPtr js_;
  std::shared_ptr<Events> events_;  // shared with cnats' callbacks until the closed one ran
  bool send_asap_ = false;
};

}  // namespace fleet::broker::jetstream
