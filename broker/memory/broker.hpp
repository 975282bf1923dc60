// The in-process "server" behind memory::connect. One mutex guards everything: it is a test
// double, so simplicity beats throughput. Time is steady_clock so wall-clock jumps in a test
// machine cannot trigger or suppress redeliveries.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fleet/broker/config.hpp"
#include "fleet/broker/memory.hpp"
#include "fleet/broker/message.hpp"
#include "fleet/broker/transport.hpp"

namespace fleet::broker::memory {

using Clock = std::chrono::steady_clock;

// NATS subject matching: `*` matches one token, a trailing `>` one or more.
bool subject_matches(std::string_view pattern, std::string_view subject);

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
  Result<PublishAck> publish(const Message& message);
  // Claims up to `max` deliveries for the durable, waiting up to `wait` for the first.
  Result<std::vector<Claim>> fetch(const std::string& stream, const std::string& durable,
                                   std::size_t max, std::chrono::milliseconds wait);
  // `delay` is only used by Settle::retry.
  Status settle(const std::string& stream, const std::string& durable, std::uint64_t sequence,
                std::uint64_t attempt, Settle how, std::chrono::milliseconds delay);
  std::vector<StreamInfo> streams();

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
};

}  // namespace fleet::broker::memory
