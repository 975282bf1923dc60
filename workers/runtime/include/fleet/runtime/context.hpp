// What a handler sees besides its event: the incoming metadata and a way to publish follow-up
// events. Follow-ups are staged, not sent: the worker publishes them (and waits for the broker's
// confirmation) only after the handler succeeded, then acks the incoming message.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fleet/broker/message.hpp"
#include "fleet/runtime/state_write.hpp"
#include "fleet/schemas/codec.hpp"
#include "fleet/schemas/envelope.hpp"

namespace fleet::runtime {

class Context {
 public:
  Context(const schemas::Metadata& incoming, std::uint64_t attempt, std::string role,
          std::function<void()> heartbeat = {})
      : incoming_(incoming),
        attempt_(attempt),
        role_(std::move(role)),
        heartbeat_(std::move(heartbeat)) {}

  const schemas::Metadata& event() const { return incoming_; }
  // Broker delivery attempt (1 on first delivery).
  std::uint64_t attempt() const { return attempt_; }
  const std::string& role() const { return role_; }

  // Stages a follow-up event: same correlation id and trace, causation id = incoming id, and
  // an id derived from (incoming id, role, position) so that a re-run of this handler after a
  // crash publishes the same ids, which the broker's dedup window and the inbox absorb.
  template <schemas::Event T>
  void publish(std::string subject, const T& event, std::string ordering_key = {}) {
    stage(std::move(subject), std::string(T::type_name), T::schema_version, schemas::encode(event),
          std::move(ordering_key));
  }
  void stage(std::string subject, std::string type, std::uint32_t schema_version, std::string body,
             std::string ordering_key);

  // Deliveries of this binding fetched and waiting for or in a handler in this process, besides
  // this one: while the process keeps up, at most the handlers running in its other lanes. A
  // handler may trade latency for throughput on it (the saga orchestrator stages its state
  // writes from a backlog of 3, and writes them at once below it).
  std::size_t backlog() const { return backlog_; }
  void set_backlog(std::size_t backlog) { backlog_ = backlog; }

  // Restarts the broker's ack-wait clock; call it during long work.
  void heartbeat() const {
    if (heartbeat_) heartbeat_();
  }

  // Set by the timeout middleware; steady_clock::time_point::max() when there is none.
  std::chrono::steady_clock::time_point deadline() const { return deadline_; }
  void set_deadline(std::chrono::steady_clock::time_point deadline) { deadline_ = deadline; }
  // For long handlers: stop and return a failure once this is true (the attempt fails anyway).
  bool past_deadline() const { return std::chrono::steady_clock::now() > deadline_; }

  const std::vector<broker::Message>& follow_ups() const { return follow_ups_; }
  // Hands the staged follow-ups over (the worker publishes them), leaving none staged.
  std::vector<broker::Message> take_follow_ups() { return std::exchange(follow_ups_, {}); }
  // Stages a compare-and-set of the handler's own state (state_write.hpp). The worker stores the
  // staged writes first and publishes the follow-ups only once every one is stored.
  void write_first(StateWrite write) { writes_.push_back(std::move(write)); }
  const std::vector<StateWrite>& writes() const { return writes_; }
  std::vector<StateWrite> take_writes() { return std::exchange(writes_, {}); }

  // Drops what a failed attempt staged (follow-ups and writes; each dropped write tells its
  // handler), so a retry starts clean.
  void discard_follow_ups() {
    follow_ups_.clear();
    writes_.clear();
  }

 private:
  const schemas::Metadata& incoming_;
  std::uint64_t attempt_;
  std::string role_;
  std::function<void()> heartbeat_;
  std::vector<broker::Message> follow_ups_;
  std::vector<StateWrite> writes_;
  std::size_t backlog_ = 0;
  std::chrono::steady_clock::time_point deadline_ = std::chrono::steady_clock::time_point::max();
};

// Deterministic event id (32 hex) for the n-th follow-up of `cause_id` published by `role`.
std::string follow_up_id(std::string_view cause_id, std::string_view role, std::size_t n);

}  // namespace fleet::runtime
