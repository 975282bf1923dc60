// Correlates async publishes with their PublishCallback.
//
// cnats hands the ack handler the very natsMsg* that was published (and ownership of it), so the
// callback is kept in a map keyed by that pointer. A pointer is unique while the message is
// alive, and the entry is removed before the message is destroyed, so reuse of the address by a
// later message is harmless.
//
// Every registered message ends in exactly one of two places: the ack handler (success, server
// error, no responders) or js_PublishAsyncGetPendingList (which removes it from cnats' pending
// map, so a late ack is dropped by cnats). Either way its callback runs exactly once.
//
// Per-message failures only ever reach the callbacks; flush waits for this tracker's own map
// to empty (not js_PublishAsyncComplete, which would also wait for the lost publishes below).
//
// A publish failed as unconfirmed (flush timeout, shutdown, lost connection) may still be
// stored: it can sit in the reconnect buffer and reach the server later. Republish with the same
// dedup id.
//
// A publish written before the connection dropped may never be answered: the server that was to
// answer it is gone, or its answer went to the old connection. cnats keeps such a message pending
// for good (3.4 has no per-message timeout without a timer message per publish), so every flush
// would wait for it until its timeout. On reconnect those publishes fail with Errc::unavailable
// and become `lost_`: a late answer for one is dropped, and they are taken back from cnats' pending
// map as soon as no other publish is outstanding.
//
// cnats registers a message as pending before it writes it out, so for a moment another thread
// can take it back (the pending list, or an early ack) while js_PublishMsgAsync still reads it.
// Such a message is an orphan: its callback runs at once, but the thread still inside
// js_PublishMsgAsync destroys it once the call returned.
#pragma once

#include <nats/nats.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "connection.hpp"
#include "fleet/broker/transport.hpp"

namespace fleet::broker::jetstream {

class PublishTracker {
 public:
  // `in_flight`: the expected number of outstanding publishes (jsOptions MaxPending).
  explicit PublishTracker(std::size_t in_flight);

  // jsOptions.PublishAsync.AckHandler; `closure` is the tracker. Runs on cnats' reply thread.
  static void on_ack(jsCtx* js, natsMsg* msg, jsPubAck* ack, jsPubAckErr* failure, void* closure);

  // js_PublishMsgAsync. Blocks up to jsOptions.PublishAsync.StallWait while MaxPending publishes
  // are in flight, then fails with Errc::timeout. On error `done` is dropped uncalled.
  Status publish(jsCtx* js, MsgPtr msg, jsPubOptions* options, PublishCallback done);

  // Waits for every outstanding publish. On timeout the ones still outstanding are taken back
  // from cnats and failed (Errc::unavailable if the connection is down, Errc::timeout if it is
  // up but the server did not answer): a message lost in a disconnect would otherwise never be
  // answered. Returns only after every callback it is responsible for has returned.
  Status flush(jsCtx* js, bool connected, std::chrono::milliseconds timeout);

  // Fails every outstanding publish with Errc::unavailable, waits for running callbacks, and
  // refuses new publishes. Must not be called from inside a PublishCallback.
  void shutdown(jsCtx* js);

  // The connection's events (cnats' callback thread). After a reconnect, the publishes written
  // before the disconnect fail with Errc::unavailable; those made while disconnected sat in
  // cnats' reconnect buffer, went out on the new connection, and wait for their answers.
  void disconnected();
  void reconnected(jsCtx* js);

 private:
  using Clock = std::chrono::steady_clock;
  struct Waiting {
    PublishCallback done;
    std::uint64_t connection = 0;  // connection_ when it was published
  };
  using Map = std::unordered_map<natsMsg*, Waiting>;

  // Both under mu_. Map nodes are recycled: no allocation per message on the hot path.
  void add(natsMsg* msg, PublishCallback done);
  PublishCallback take(Map::iterator it);

  void fail_outstanding(jsCtx* js, Errc code, const std::string& why);
  // Takes the lost publishes back from cnats once nothing else is outstanding.
  void drop_lost(jsCtx* js);
  // Under mu_: true (and `msg` now an orphan) when a publishing thread still reads `msg`.
  bool orphan_if_in_call(natsMsg* msg);
  void run(PublishCallback& done, const Result<PublishAck>& result);
  // True once no callback is registered or running.
  bool wait_idle(Clock::time_point deadline);

  std::mutex mu_;
  std::condition_variable idle_;
  Map waiting_;
  std::vector<Map::node_type> spare_;
  std::size_t max_spare_;
  // Under mu_. Messages inside a js_PublishMsgAsync call now (one per publishing thread), and
  // those of them already taken back from cnats, which that call's thread must destroy.
  std::vector<natsMsg*> in_call_;
  std::vector<natsMsg*> orphans_;
  int running_ = 0;
  bool closed_ = false;
  // Under mu_. Counts disconnects; and the publishes failed by a reconnect that cnats still holds
  // as pending (its message is cnats' until it hands it back).
  std::uint64_t connection_ = 0;
  std::unordered_set<natsMsg*> lost_;
};

}  // namespace fleet::broker::jetstream
