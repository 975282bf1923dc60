// What a handler says about one event.
#pragma once

#include <chrono>
#include <string>

namespace fleet::runtime {

struct Outcome {
  enum class Kind {
    success,      // done: follow-ups are published, then the message is acked
    retry,        // failed, may succeed later: retried in process, then redelivered with backoff
    permanent,    // failed, will never succeed: dead-lettered at once
    in_progress,  // still working elsewhere: the ack-wait clock restarts, nothing is settled
    defer,        // not yet due: the broker redelivers it after `delay` (not a failure; timers)
  };
  Kind kind = Kind::success;
  std::string error_class;  // short machine-readable class, e.g. "exception", "decode", "timeout"
  std::string message;      // human-readable reason
  std::chrono::milliseconds delay{0};  // for defer

  static Outcome ok() { return {}; }
  static Outcome retry(std::string message, std::string error_class = "retryable") {
    return {Kind::retry, std::move(error_class), std::move(message)};
  }
  static Outcome permanent(std::string message, std::string error_class = "permanent") {
    return {Kind::permanent, std::move(error_class), std::move(message)};
  }
  static Outcome in_progress() { return {Kind::in_progress, {}, {}}; }
  // Each defer uses one broker delivery: bindings that defer should allow enough attempts.
  static Outcome defer(std::chrono::milliseconds delay) { return {Kind::defer, {}, {}, delay}; }

  bool succeeded() const { return kind == Kind::success; }
};

}  // namespace fleet::runtime
