// A fleet Message as a Kafka record and back, and stream sequences from partition and offset.
#pragma once

#include <cstdint>
#include <string_view>

#include "fleet/broker/message.hpp"
#include "kafka/handles.hpp"

namespace fleet::broker::kafka {

inline constexpr const char* kSubjectHeader = "Fleet-Subject";  // the message's subject
inline constexpr const char* kMsgIdHeader = "Fleet-Msg-Id";     // Message::dedup_id
inline constexpr const char* kOrderingKeyHeader = "Fleet-Ordering-Key";

inline constexpr int kOffsetBits = 40;
inline std::uint64_t to_sequence(std::int32_t partition, std::int64_t offset) {
  return (static_cast<std::uint64_t>(partition) << kOffsetBits) |
         static_cast<std::uint64_t>(offset + 1);
}
inline std::int32_t partition_of(std::uint64_t sequence) {
  return static_cast<std::int32_t>(sequence >> kOffsetBits);
}
inline std::int64_t offset_of(std::uint64_t sequence) {
  return static_cast<std::int64_t>(sequence & ((std::uint64_t{1} << kOffsetBits) - 1)) - 1;
}

// Record headers for `message`: its headers plus subject and dedup id.
HeadersPtr record_headers(const Message& message);

// The partitioning key: Message::key, else the ordering-key header, else "" (any partition).
std::string_view record_key(const Message& message);

// The Message a record carries. A record without Fleet-Subject (a producer that is not fleet)
// gets its topic name as subject.
Message to_message(const rd_kafka_message_t& record);

}  // namespace fleet::broker::kafka
