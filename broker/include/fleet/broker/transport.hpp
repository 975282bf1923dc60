// Transport: the one interface between fleet and a broker (JetStream, Kafka, memory).
// Every implementation must pass tests/integration/transport_acceptance.hpp.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fleet/broker/config.hpp"
#include "fleet/broker/delivery.hpp"
#include "fleet/broker/key_value.hpp"
#include "fleet/broker/message.hpp"
#include "fleet/broker/stream_store.hpp"
#include "fleet/broker/subject.hpp"
#include "fleet/error.hpp"

namespace fleet::broker {

struct ConsumerInfo {
  std::string name;
  std::uint64_t pending = 0;      // not yet delivered
  std::uint64_t ack_pending = 0;  // delivered, not yet acked
  std::uint64_t redelivered = 0;  // delivered more than once and not yet acked
  std::uint64_t waiting = 0;      // fetches waiting for messages: about the processes consuming
};

struct StreamInfo {
  std::string name;
  std::vector<std::string> subjects;
  std::uint64_t messages = 0;
  std::uint64_t bytes = 0;
  std::uint64_t first_sequence = 0;
  std::uint64_t last_sequence = 0;
  std::int64_t first_time_ms = 0;  // Unix ms of the oldest / newest message; 0 = none or unknown
  std::int64_t last_time_ms = 0;
  std::string leader;  // the server that leads the stream in a cluster; empty = none or unknown
  std::vector<ConsumerInfo> consumers;
};

// How far a durable's deliveries have come (Transport::delivery_progress): every message of its
// filter published before `waiting_since_ms` has been handed to one of its processes at least
// once. Saga step timeouts count from there (workers/saga/step_starts.hpp).
struct DeliveryProgress {
  bool caught_up = false;             // nothing of the filter is waiting to be delivered
  std::int64_t waiting_since_ms = 0;  // else: Unix ms of the oldest message not yet delivered
                                      // (or one published before it); 0 = nothing delivered yet
};

// A durable pull subscription. Many processes may subscribe to one durable; each message goes
// to one of them. Not safe for concurrent fetch calls; settle deliveries from any thread; close
// from any thread, also while a fetch waits.
class Subscription {
 public:
  virtual ~Subscription() = default;
  // Up to `max` deliveries, waiting at most `wait` for the first. An empty vector means nothing
  // arrived in time (a normal outcome, not an error).
  virtual Result<std::vector<Delivery>> fetch(std::size_t max, std::chrono::milliseconds wait) = 0;
  // Stops fetching for good, so a stopping worker need not wait out a long-poll: a fetch waiting
  // on another thread returns at once with what it has, and later fetches return empty at once.
  // Deliveries already handed out can still be settled. JetStream closes its pull inbox; the
  // default does nothing (a fetch then ends after its own `wait`).
  virtual void close() {}
};

// Called once per async publish, on a transport thread, with the broker's answer.
using PublishCallback = std::function<void(const Result<PublishAck>&)>;

class Transport {
 public:
  virtual ~Transport() = default;

  // Create the stream, or update it to match; safe to call from every process at start-up.
  virtual Status ensure_stream(const StreamConfig& config) = 0;
  // Create the durable consumer, or update it to match.
  virtual Status ensure_consumer(const ConsumerConfig& config) = 0;
  // Deletes a durable consumer and its position; removing one that does not exist succeeds.
  virtual Status remove_consumer(const std::string& stream, const std::string& durable) = 0;
  // Deletes a stream with its messages and consumers (an operator's `fleet streams rm`).
  // Errc::not_found if there is no such stream; transports that cannot keep the default.
  virtual Status remove_stream(const std::string& name) {
    return fail(Errc::rejected, "this transport cannot remove stream " + name);
  }

  // Publishes and waits for the broker's confirmation.
  virtual Result<PublishAck> publish(const Message& message, std::chrono::milliseconds timeout) = 0;

  // Publishes without waiting; `done` receives the confirmation or the failure of this one
  // message. Blocks while the transport's in-flight bound is reached. An error return means the
  // message was not sent (and `done` is not called).
  virtual Status publish_async(const Message& message, PublishCallback done) = 0;
  // Sends what earlier publish_async calls left in a client-side write buffer now, instead of
  // when the client's own batching would (NATS: up to 1 ms later). Call it after the last of a
  // group of publishes that something waits on. No effect where nothing is buffered.
  virtual void send_now() {}
  // Waits until every async publish is confirmed or failed; Errc::timeout if some are still
  // outstanding after `timeout`.
  virtual Status flush(std::chrono::milliseconds timeout) = 0;

  virtual Result<std::unique_ptr<Subscription>> subscribe(const ConsumerConfig& config) = 0;

  virtual Result<std::vector<StreamInfo>> streams() = 0;

  // The stream that captures `subject` (a literal subject); nullopt when none does. JetStream
  // answers from the cluster's stream assignments, so also while that stream elects a leader or
  // its servers are away and its publishes get "no responders". The default looks through
  // streams().
  virtual Result<std::optional<std::string>> stream_for_subject(const std::string& subject) {
    auto listed = streams();
    if (!listed) return Unexpected<Error>(listed.error());
    for (const auto& stream : *listed) {
      for (const auto& pattern : stream.subjects) {
        if (subject_matches(pattern, subject)) return stream.name;
      }
    }
    return std::nullopt;
  }

  // Messages per subject in `stream` among subjects matching `filter` (wildcards allowed).
  virtual Result<std::map<std::string, std::uint64_t>> subject_counts(
      const std::string& stream, const std::string& filter) = 0;

  // False while the connection to the broker is down (the transport keeps reconnecting).
  virtual bool connected() const = 0;

  // Opens the bucket, creating it (or updating its TTL / history) if needed.
  virtual Result<std::unique_ptr<KeyValue>> key_value(const BucketConfig& config) = 0;

  // How far `durable` of `stream` has been delivered. A durable that does not exist yet has
  // been delivered nothing. Transports that cannot tell keep the default, Errc::rejected.
  virtual Result<DeliveryProgress> delivery_progress(const std::string& stream,
                                                     const std::string& durable) {
    return fail(Errc::rejected, "this transport cannot tell how far " + stream + "/" + durable +
                                    " has been delivered");
  }

  // Reads and prunes `stream` by sequence (dead-letter tooling). Errc::not_found if the stream
  // does not exist; transports that cannot do this keep the default, Errc::rejected.
  virtual Result<std::unique_ptr<StreamStore>> stream_store(const std::string& stream) {
    return fail(Errc::rejected, "this transport cannot read stream " + stream + " by sequence");
  }
};

}  // namespace fleet::broker
