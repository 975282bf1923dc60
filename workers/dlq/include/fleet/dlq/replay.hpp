// Replaying and purging selected dead letters. An entry leaves the dead-letter store only after
// the broker confirmed its replay, so a crash at any point leaves every entry either still in
// the store or delivered (possibly both: handlers' inboxes absorb the repeat).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "fleet/broker/stream_store.hpp"
#include "fleet/broker/transport.hpp"
#include "fleet/dlq/filter.hpp"
#include "fleet/dlq/replay_plan.hpp"

namespace fleet::dlq {

struct Counts {
  std::uint64_t done = 0;  // replayed (or purged)
  std::uint64_t skipped = 0;
  std::uint64_t failed = 0;
  std::vector<std::string> errors;  // "seq N: why", the first few
  bool scan_failed = false;         // replay_matching: reading the DLQ stopped early
};

struct ReplayRun {
  double rate = 0;  // entries per second; 0 = as fast as the broker confirms
  std::chrono::milliseconds timeout{30'000};
  // Called after each entry was handed to the broker (not yet confirmed) or skipped/failed.
  // `total` is 0 when not known in advance (replay_matching).
  std::function<void(std::uint64_t handled, std::uint64_t total)> progress;
};

Counts replay(broker::Transport& transport, broker::StreamStore& store,
              const std::vector<DeadLetter>& entries, const ReplayOptions& options,
              const schemas::Registry& registry, const ReplayRun& run);

// Selects and replays in one pass: each match is published while the scan goes on, so reading
// and publishing overlap and memory stays flat however deep the DLQ is.
Counts replay_matching(broker::Transport& transport, broker::StreamStore& store,
                       const Filter& filter, std::string_view subject_prefix,
                       const ReplayOptions& options, const schemas::Registry& registry,
                       const ReplayRun& run);

Counts purge(broker::StreamStore& store, const std::vector<DeadLetter>& entries,
             std::chrono::milliseconds timeout);

}  // namespace fleet::dlq
