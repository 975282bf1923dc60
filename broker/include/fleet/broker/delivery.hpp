// One delivery of a message to a consumer. Exactly one settling call (ack, retry_after, terminate)
// should be made; in_progress may be called any number of times before it. A Delivery that is
// destroyed unsettled is redelivered by the broker after the consumer's ack wait.
//
// Reading: subject(), header() and body() are views into the message as the transport received
// it (JetStream: the natsMsg itself), valid as long as the Delivery. message() is an owned copy,
// made on its first call, for what must outlive the delivery or needs every header (a
// dead-letter copy, a replay).
// Thread-safety: a Delivery may be settled from any thread, but not from two at once; reading
// and settling from two threads at once is not supported either.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include "fleet/broker/message.hpp"
#include "fleet/error.hpp"

namespace fleet::broker {

// Where a partitioned transport (Kafka) stored a message. Its sequence encodes the same, but how
// is the transport's business: it sets this so that tools can name partition and offset without
// decoding sequences. Unpartitioned transports (JetStream, memory) leave it unset.
struct PartitionOffset {
  std::int32_t partition = 0;
  std::int64_t offset = 0;
};

class Delivery {
 public:
  // Transport-specific settle operations.
  class Handle {
   public:
    virtual ~Handle() = default;
    virtual Status ack() = 0;
    virtual Status retry_after(std::chrono::milliseconds delay) = 0;
    virtual Status in_progress() = 0;
    virtual Status terminate() = 0;
  };

  // The received message, read where the transport keeps it.
  class View {
   public:
    virtual ~View() = default;
    virtual std::string_view subject() const = 0;
    // The first value of `name`, if present.
    virtual std::optional<std::string_view> header(std::string_view name) const = 0;
    virtual std::string_view body() const = 0;
    // Everything, owned.
    virtual Message copy() const = 0;
  };

  // A delivery whose message the transport handed over as an owned Message (memory, Kafka).
  Delivery(Message message, std::uint64_t attempt, std::uint64_t sequence,
           std::unique_ptr<Handle> handle, std::optional<PartitionOffset> position = {})
      : owned_(std::move(message)),
        attempt_(attempt),
        sequence_(sequence),
        position_(position),
        handle_(std::move(handle)) {}
  // A delivery read through `view`, which `handle` owns (JetStream: one object holds the natsMsg,
  // settles it and reads it): nothing is copied until message() is called.
  Delivery(const View* view, std::uint64_t attempt, std::uint64_t sequence,
           std::unique_ptr<Handle> handle, std::optional<PartitionOffset> position = {})
      : view_(view),
        attempt_(attempt),
        sequence_(sequence),
        position_(position),
        handle_(std::move(handle)) {}

  std::string_view subject() const { return view_ ? view_->subject() : owned_->subject; }
  std::optional<std::string_view> header(std::string_view name) const {
    return view_ ? view_->header(name) : fleet::header(owned_->headers, name);
  }
  std::string_view body() const { return view_ ? view_->body() : owned_->body; }
  // An owned copy of the whole message, made on the first call.
  const Message& message() const {
    if (!owned_) owned_ = view_->copy();
    return *owned_;
  }
  // 1 on first delivery; counted by the broker, so it survives worker crashes.
  std::uint64_t attempt() const { return attempt_; }
  // Stream sequence (JetStream) or offset (Kafka) of the message.
  std::uint64_t sequence() const { return sequence_; }
  // Partition and offset on a partitioned transport (Kafka); unset elsewhere.
  const std::optional<PartitionOffset>& position() const { return position_; }

  // Done: never deliver again.
  Status ack() { return handle_->ack(); }
  // Failed for now: deliver again, not before `delay` has passed.
  Status retry_after(std::chrono::milliseconds delay) { return handle_->retry_after(delay); }
  // Still working: restart the ack-wait clock.
  Status in_progress() { return handle_->in_progress(); }
  // Never deliver again, and do not count it as handled.
  Status terminate() { return handle_->terminate(); }

 private:
  const View* view_ = nullptr;            // owned by handle_; null for an owned message
  mutable std::optional<Message> owned_;  // the message, or its copy once message() was called
  std::uint64_t attempt_;
  std::uint64_t sequence_;
  std::optional<PartitionOffset> position_;
  std::unique_ptr<Handle> handle_;
};

}  // namespace fleet::broker
