// The inbox: per role, the ids of events already handled, kept for a TTL in a KV bucket.
// A redelivered event whose id is in the inbox is acked without running the handler again.
//
// Guarantee: at-least-once delivery from the broker, effectively-once handling for handlers
// whose effects go through fleet (follow-up events, which get deterministic ids) or are
// idempotent. A crash after the handler's effects but before the inbox write re-runs the handler.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fleet/broker/transport.hpp"

namespace fleet::runtime {

struct InboxConfig {
  std::string bucket_prefix = "inbox_";       // bucket = prefix + role
  std::chrono::milliseconds ttl{86'400'000};  // how long a handled id is remembered (24 h)
};

class Inbox {
 public:
  static Result<Inbox> open(broker::Transport& transport, const InboxConfig& config,
                            std::string_view role);

  Result<bool> seen(std::string_view event_id);
  // seen() for a whole fetched batch in one lookup (one round trip on JetStream); the i-th
  // answer is for event_ids[i].
  std::vector<Result<bool>> seen_many(const std::vector<std::string_view>& event_ids);
  // Records the event as handled without waiting: `done` runs once with the entry's revision or
  // the error, on a broker thread (it must not block), or at once if the write could not be
  // started. (The KeyValue's own callback type, so nothing is wrapped per write.)
  void remember_async(std::string_view event_id, broker::KeyValue::WriteCallback done);

  // When the event first failed, kept beside the inbox entries ("" if it never failed here).
  std::string first_failure(std::string_view event_id);
  void note_failure(std::string_view event_id, std::string_view when);
  void forget_failure(std::string_view event_id);

 private:
  explicit Inbox(std::unique_ptr<broker::KeyValue> kv) : kv_(std::move(kv)) {}
  std::unique_ptr<broker::KeyValue> kv_;
};

}  // namespace fleet::runtime
