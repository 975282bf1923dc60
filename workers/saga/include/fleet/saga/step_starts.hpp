// When did a participant take a step's command? Step timeouts count from there (start to
// close), not from the command's publish: a command waiting in a queue, or on partitions being
// rebalanced, is not timing out. How long a command may wait is its own bound, the step's
// start_timeout.
//
// The orchestrator does not see deliveries to participants. When a step's timer comes due
// unanswered, it asks the broker how far the participant's durable has been delivered
// (Transport::delivery_progress), at most every `refresh` per durable, and keeps the answers
// (samples). A command sent at S counts as taken by a sample that shows the durable caught up,
// or waiting only on messages published after S + `margin` (the margin covers the time between
// the orchestrator's decision and the broker's timestamp).
// - Taken, and no sample since S showed it waiting: taken promptly; the step times out
//   `timeout` after S, as without this class.
// - Taken after a sample showed it waiting: the step times out `timeout` after the first
//   sample that showed it taken: late by at most one sampling gap, never early.
// - Not taken yet: the timer is deferred (by a quarter of the timeout or a hundredth of the
//   start timeout, whichever is longer, 250 ms to 1 min); once `start_timeout` has passed since
//   S, the step times out as not started.
// A start_timeout of 0, a transport that cannot tell (Errc::rejected), or another failed
// question leave the timeout counted from S; an unreachable broker (Errc::unavailable, timeout)
// is returned, so the timer is held and asks again. Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "fleet/broker/transport.hpp"

namespace fleet::saga {

class StepStarts {
 public:
  using Probe = std::function<Result<broker::DeliveryProgress>(const std::string& durable)>;

  struct Verdict {
    enum class Kind { time_out, not_started, wait };
    Kind kind = Kind::time_out;
    std::chrono::milliseconds wait{0};  // for wait: ask again after this long
  };

  explicit StepStarts(Probe probe,
                      std::chrono::milliseconds refresh = std::chrono::milliseconds(250),
                      std::chrono::milliseconds margin = std::chrono::milliseconds(500));

  // For a step whose command was sent to `durable` at `sent_ms` and is unanswered at `now_ms`,
  // which is at least `timeout` later.
  Result<Verdict> check(const std::string& durable, std::int64_t sent_ms,
                        std::chrono::milliseconds timeout, std::chrono::milliseconds start_timeout,
                        std::int64_t now_ms);

 private:
  struct Sample {
    std::int64_t at_ms = 0;
    broker::DeliveryProgress progress;
  };
  // The durable's samples, a fresh one added if the last is older than refresh_; false when the
  // broker cannot tell, an error when it cannot be reached.
  Result<bool> sample(const std::string& durable, std::int64_t now_ms);
  bool taken(const Sample& sample, std::int64_t sent_ms) const;

  Probe probe_;
  std::chrono::milliseconds refresh_;
  std::chrono::milliseconds margin_;
  std::mutex mutex_;
  struct Failure {
    std::int64_t at_ms = 0;
    Error error;
    bool transient = false;  // unavailable or timeout
  };
  std::map<std::string, std::vector<Sample>> samples_;      // per durable, oldest first
  std::map<std::string, std::optional<Failure>> failures_;  // per durable, the last question's
  bool unsupported_ = false;                                // the transport said Errc::rejected
};

}  // namespace fleet::saga
