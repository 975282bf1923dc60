// One entry of the dead-letter stream as the tooling sees it: the stored message plus its
// failure headers read into fields. Missing or malformed headers leave fields empty, so entries
// written by hand or by older workers are still listed.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "fleet/broker/stream_store.hpp"

namespace fleet::dlq {

// Set on every replayed event and carried by its next dead letter (the runtime copies the
// event's headers), so the loop guard sees how often an event went round.
inline constexpr std::string_view replay_count_header = "Fleet-Replay-Count";
// Every failure header starts with this; replay strips them.
inline constexpr std::string_view failure_header_prefix = "Fleet-Dlq-";

using Time = std::chrono::system_clock::time_point;

struct DeadLetter {
  std::uint64_t sequence = 0;  // in the dead-letter stream
  broker::Message message;     // as stored: original headers + failure headers, original body
  std::string original_subject;
  std::string id;                    // Fleet-Id of the event
  std::string type;                  // Fleet-Type
  std::uint32_t schema_version = 1;  // Fleet-Schema-Version (1 when absent, 0 when unreadable)
  std::string error_class;
  std::string error_message;
  std::string role;
  std::uint64_t attempts = 0;
  std::uint64_t replay_count = 0;
  std::optional<Time> failed_at;  // last failure
};

// `subject_prefix` ("dlq.") gives the original subject when the header is missing.
DeadLetter read_dead_letter(broker::StoredMessage stored, std::string_view subject_prefix);

}  // namespace fleet::dlq
