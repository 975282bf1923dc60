// StreamStore: a stream read and pruned by sequence, for tools that operate on stored messages
// rather than consume them (the dead-letter tooling: list, show, replay, purge).
//
// A Kafka topic plugs in with offsets as sequences; it cannot delete single records, so its
// store would record removals itself (a compacted "removed" topic) and skip them when scanning.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "fleet/broker/message.hpp"
#include "fleet/error.hpp"

namespace fleet::broker {

struct StoredMessage {
  std::uint64_t sequence = 0;  // stream sequence (JetStream) or offset (Kafka)
  Message message;             // headers, body and dedup id as stored
};

// scan, get, remove and flush belong to one thread. remove_async may be called from any thread,
// also while a scan runs (the replay removes entries from publish-confirmation callbacks); its
// callbacks run on a transport thread.
class StreamStore {
 public:
  virtual ~StreamStore() = default;

  // Calls `visit` with every message whose sequence is >= `from` and whose subject matches
  // `subject_filter` ("" = all; wildcards allowed), in sequence order, until `visit` returns
  // false or the messages stored when the scan began are exhausted. Messages removed during the
  // scan may or may not be visited. `visit` may move from the message it is given.
  virtual Status scan(std::uint64_t from, const std::string& subject_filter,
                      const std::function<bool(StoredMessage&)>& visit) = 0;

  // One message; Errc::not_found when there is none at `sequence`.
  virtual Result<StoredMessage> get(std::uint64_t sequence) = 0;

  // Removes one message and waits for the broker's answer; Errc::not_found if it is gone.
  virtual Status remove(std::uint64_t sequence) = 0;
  // Removes without waiting; `done` gets the broker's answer for this sequence. An error return
  // means the request was not sent (and `done` is not called).
  virtual Status remove_async(std::uint64_t sequence, std::function<void(const Status&)> done) = 0;
  // Waits until every remove_async got its answer; Errc::timeout if some are still outstanding.
  virtual Status flush(std::chrono::milliseconds timeout) = 0;
};

}  // namespace fleet::broker
