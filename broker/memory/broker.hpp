// The in-process "server" behind memory::connect. One mutex guards all streams and another all
// key-value buckets: it is a test double, so simplicity beats throughput. Time is steady_clock so
// wall-clock jumps in a test machine cannot trigger or suppress redeliveries or expiries.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fleet/broker/config.hpp"
#include "fleet/broker/key_value.hpp"
#include "fleet/broker/memory.hpp"
#include "fleet/broker/message.hpp"
#include "fleet/broker/subject.hpp"
#include "fleet/broker/transport.hpp"

namespace fleet::broker::memory {

using Clock = std::chrono::steady_clock;

using broker::subject_matches;

// A message handed to one fetcher; (sequence, attempt) identifies it when it is settled.
struct Claim {
  Message message;
  std::uint64_t sequence = 0;
  std::uint64_t attempt = 0;
};

enum class Settle { ack, retry, progress, terminate };

class Broker {
 public:
  Status ensure_stream(const StreamConfig& config);
  Status ensure_consumer(const ConsumerConfig& config);
  Status has_consumer(const std::string& stream, const std::string& durable);
  Status remove_consumer(const std::string& stream, const std::string& durable);
  Result<PublishAck> publish(const Message& message);
  // Claims up to `max` deliveries for the durable, waiting up to `wait` for the first.
  Result<std::vector<Claim>> fetch(const std::string& stream, const std::string& durable,
                                   std::size_t max, std::chrono::milliseconds wait);
  // `delay` is only used by Settle::retry.
  Status settle(const std::string& stream, const std::string& durable, std::uint64_t sequence,
                std::uint64_t attempt, Settle how, std::chrono::milliseconds delay);
  std::vector<StreamInfo> streams();
  Result<std::map<std::string, std::uint64_t>> subject_counts(const std::string& stream,
                                                              const std::string& filter);

  // Stored messages by sequence (memory/stream_store.cpp).
  Result<std::vector<StoredMessage>> stored(std::string_view stream, std::uint64_t from,
                                            std::string_view subject_filter);
  Result<StoredMessage> stored_at(std::string_view stream, std::uint64_t sequence);
  Status remove(std::string_view stream, std::uint64_t sequence);

  // Key-value buckets (memory/key_value.cpp). Creates the bucket or updates its config.
  Status ensure_bucket(const BucketConfig& config);
  Result<std::optional<Entry>> kv_get(std::string_view bucket, std::string_view key);
  // `expected`: nullopt writes unconditionally, 0 only if the key is absent, any other value
  // only if it is the key's latest revision.
  Result<std::uint64_t> kv_write(std::string_view bucket, std::string_view key,
                                 std::string_view value, std::optional<std::uint64_t> expected);
  Status kv_erase(std::string_view bucket, std::string_view key);

 private:
  struct Stored {
    Message message;
    Clock::time_point stored_at;
  };
  // A delivered, unsettled message; it may be delivered again once `due` has passed.
  struct Pending {
    std::uint64_t attempts = 0;
    Clock::time_point due;
  };
  struct Consumer {
    ConsumerConfig config;
    std::uint64_t next_sequence = 1;  // first stream sequence never delivered
    std::map<std::uint64_t, Pending> pending;
  };
  struct Stream {
    StreamConfig config;
    std::map<std::uint64_t, Stored> messages;
    std::uint64_t last_sequence = 0;
    std::map<std::string, std::uint64_t, std::less<>> dedup;            // dedup id -> sequence
    std::deque<std::pair<Clock::time_point, std::string>> dedup_order;  // oldest first
    std::map<std::string, Consumer, std::less<>> consumers;
  };

  // The consumer, or Errc::not_found naming what is missing.
  Result<Consumer*> find(const std::string& stream, const std::string& durable);
  void expire(Stream& stream, Clock::time_point now);
  void claim(Stream& stream, Consumer& consumer, std::size_t max, Clock::time_point now,
             std::vector<Claim>& out);
  static Clock::time_point next_due(const Consumer& consumer);

  std::mutex mutex_;
  std::condition_variable changed_;  // a publish or a settle may let a waiting fetch proceed
  std::map<std::string, Stream, std::less<>> streams_;

  // Only the latest revision of a key is kept: the interface cannot read older ones.
  struct Slot {
    std::string value;
    std::uint64_t revision = 0;
    Clock::time_point written;
  };
  struct Bucket {
    BucketConfig config;
    std::uint64_t last_revision = 0;  // per bucket, like a KV stream's sequence
    std::map<std::string, Slot, std::less<>> slots;
  };
  // The key's slot, or nullptr when absent or expired (expired slots are dropped here: TTLs are
  // honoured lazily, on access).
  static Slot* live(Bucket& bucket, std::string_view key, Clock::time_point now);
  Result<Bucket*> find_bucket(std::string_view name);

  std::mutex kv_mutex_;  // buckets never touch streams, so they need not wait on mutex_
  std::map<std::string, Bucket, std::less<>> buckets_;
};

Result<std::unique_ptr<StreamStore>> open_stream_store(std::shared_ptr<Broker> broker,
                                                       const std::string& stream);

Result<std::unique_ptr<KeyValue>> open_key_value(std::shared_ptr<Broker> broker,
                                                 const BucketConfig& config);

}  // namespace fleet::broker::memory
