// fleet's own JetStream pull consumer, on core NATS primitives (cnats stays the connection).
//
// Why not cnats' own pull Fetch call: in cnats 3.4.1 it writes past its own array when
// messages of an earlier pull request are still queued as it starts, which happens after every
// expired pull and every reconnect (../shared/repro/cnats_fetch_overflow.c).
//
// The protocol (NATS ADR-13): pull requests `{"batch","expires","idle_heartbeat"}` published to
// `$JS.API.CONSUMER.MSG.NEXT.<stream>.<durable>` with a private inbox as reply subject; the
// server answers on that inbox with messages and with status messages:
//   100 idle heartbeat (the pull is alive), 408 request expired, 409 request ended (max waiting,
//   batch or size limits, leadership change; "Consumer Deleted" is fatal), 404 no messages.
// 408 and 409 carry `Nats-Pending-Messages`, the part of that request left unfilled.
//
// Requests are kept flowing: whenever fewer than half of the wanted messages are on their way,
// another request asks for the rest, so the consumer never idles waiting for a round trip.
// Missed heartbeats mean a dead pull (server paused, request lost): after two, the consumer
// checks the connection with a ping and asks again. A reconnect drops the accounting of every
// request made before it.
//
// Thread-safety: one thread calls next() at a time; close() may be called from any thread, also
// while next() waits. Settling (ack.hpp) may happen on any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "connection.hpp"
#include "fleet/error.hpp"

namespace fleet::broker::jetstream {

struct PullConfig {
  std::chrono::milliseconds expires{10'000};        // lifetime of one pull request on the server
  std::chrono::milliseconds idle_heartbeat{1'000};  // the server's sign of life on a waiting pull
};

using StatisticsPtr = std::unique_ptr<natsStatistics, Destroy<natsStatistics_Destroy>>;

class PullConsumer {
 public:
  // Subscribes the private inbox. The durable must exist; a missing one shows up as an error of
  // the first next() (409 Consumer Deleted, or no responders).
  static Result<std::unique_ptr<PullConsumer>> open(std::shared_ptr<Connection> connection,
                                                    std::string stream, std::string durable,
                                                    PullConfig config = {});

  // Up to `max` JetStream messages, waiting at most `wait` for the first; after the first, only
  // what has already arrived. Empty = nothing arrived in time. Errc::unavailable while the
  // connection is down or JetStream does not answer; Errc::not_found when the durable was
  // deleted.
  // After close(): what had already arrived, then empty at once.
  Result<std::vector<MsgPtr>> next(std::size_t max, std::chrono::milliseconds wait);

  // Stops consuming for good: unsubscribes the private inbox, which wakes a next() waiting on
  // another thread at once instead of at the end of its long-poll. Messages of requests still
  // open on the server find no subscriber and are redelivered after the ack wait, as when the
  // process exits. Messages already returned by next() can still be settled.
  void close();

  const std::shared_ptr<Connection>& connection() const { return connection_; }
  const std::string& name() const { return name_; }

  // Requests sent and the ones given up as dead (missed heartbeats) or reset by a reconnect;
  // for tests and metrics.
  std::uint64_t requests_sent() const { return requests_sent_; }
  std::uint64_t pulls_reset() const { return pulls_reset_; }

 private:
  using Clock = std::chrono::steady_clock;
  PullConsumer(std::shared_ptr<Connection> connection, std::string stream, std::string durable,
               PullConfig config);

  Status request(std::size_t batch);
  void reset_pulls();
  // Handles a status message; an error for the ones that end the consumer.
  Status on_status(natsMsg* msg, std::string_view code);
  std::uint64_t reconnects() const;

  std::shared_ptr<Connection> connection_;
  std::string name_;             // "STREAM/durable"
  std::string request_subject_;  // $JS.API.CONSUMER.MSG.NEXT.<stream>.<durable>
  std::string inbox_;
  PullConfig config_;
  SubscriptionPtr sub_;
  StatisticsPtr stats_;

  std::size_t outstanding_ = 0;  // asked for, neither received nor ended by a status
  Clock::time_point last_heard_{};
  std::uint64_t reconnects_seen_ = 0;
  std::uint64_t requests_sent_ = 0;
  std::uint64_t pulls_reset_ = 0;
  std::atomic<bool> closed_{false};
};

}  // namespace fleet::broker::jetstream
