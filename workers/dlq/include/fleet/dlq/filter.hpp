// Which dead letters an operator means: every set field must match.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "fleet/broker/stream_store.hpp"
#include "fleet/broker/subject.hpp"
#include "fleet/dlq/dead_letter.hpp"

namespace fleet::dlq {

struct Filter {
  std::string subject;        // original subject; NATS wildcards (`*`, trailing `>`) allowed
  std::string type;           // exact event type
  std::string error;          // case-insensitive substring of "error class: error message"
  std::string role;           // exact role
  std::optional<Time> since;  // failed at or after
  std::optional<Time> until;  // failed before
  std::size_t limit = 0;      // 0 = all; the oldest `limit` matches otherwise
};

using broker::subject_matches;

bool matches(const Filter& filter, const DeadLetter& entry);

// Calls `visit` with each match in sequence order until it returns false (the subject filter is
// applied by the store; Filter::limit is the caller's business here). `visit` may move from the
// entry.
Status scan_matching(broker::StreamStore& store, const Filter& filter,
                     std::string_view subject_prefix,
                     const std::function<bool(DeadLetter&)>& visit);

// Reads the store in sequence order and returns the matches (the subject filter is applied by
// the store, the rest here).
Result<std::vector<DeadLetter>> select(broker::StreamStore& store, const Filter& filter,
                                       std::string_view subject_prefix);

}  // namespace fleet::dlq
