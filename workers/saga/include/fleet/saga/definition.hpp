// A saga definition: an ordered list of steps, each a command to a participant role with its
// reply outcomes, an optional compensation, a timeout and the participant's retry policy.
//
// Subjects, for a definition with subject_prefix "saga.orders":
//   replies    saga.orders.reply                 (StepReply: "done" / "failed" / "compensated")
//   timers     saga.orders.timer                 (StepTimer, one per saga, held by the broker)
//   lifecycle  saga.orders.lifecycle.<kind>      (SagaLifecycle)
#pragma once

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "fleet/runtime/retry_policy.hpp"

namespace fleet::saga {

struct Step {
  std::string name;                  // e.g. "payment"
  std::string command_subject;       // e.g. "payment.charge"
  std::string compensation_subject;  // e.g. "payment.refund"; "" = nothing to undo
  // No reply this long after a participant took the command: the saga compensates. Counted
  // from the command's delivery where the orchestrator knows the steps' stream
  // (OrchestratorConfig::steps_stream, step_starts.hpp), else from its publish.
  std::chrono::milliseconds timeout{10'000};
  // How long the command may wait for a participant to take it (queued behind others, on
  // partitions being rebalanced, no participant running); then the saga compensates as for a
  // timeout. 0 = the wait counts toward `timeout`, as when the steps' stream is not known.
  std::chrono::milliseconds start_timeout{300'000};
  // For the participant handling the step's commands; unset = the worker's own policy
  // (--max-attempts, --backoff-ms, ... of fleet-worker).
  std::optional<runtime::RetryPolicy> retry;
};

// Reply outcomes: the success and failure "reply types" of every step, and of an undo.
namespace outcome {
inline constexpr std::string_view done = "done";
inline constexpr std::string_view failed = "failed";
inline constexpr std::string_view compensated = "compensated";
}  // namespace outcome

struct Definition {
  std::string name;            // e.g. "order_fulfilment"; also names the state bucket
  std::string subject_prefix;  // e.g. "saga.orders"
  std::vector<Step> steps;

  std::string reply_subject() const { return subject_prefix + ".reply"; }
  std::string timer_subject() const { return subject_prefix + ".timer"; }
  std::string lifecycle_subject(std::string_view kind) const {
    return subject_prefix + ".lifecycle." + std::string(kind);
  }
  std::string state_bucket() const { return "saga_" + name; }
  // When the watchdog timer is first due after a start: the soonest any step could time out.
  std::chrono::milliseconds shortest_timeout() const {
    auto shortest = steps.empty() ? std::chrono::milliseconds(0) : steps.front().timeout;
    for (const auto& s : steps) shortest = std::min(shortest, s.timeout);
    return shortest;
  }
};

}  // namespace fleet::saga
