// What a handler says about one event.
#pragma once

#include <chrono>
#include <string>

#include "fleet/error.hpp"

namespace fleet::runtime {

struct Outcome {
  enum class Kind {
    success,      // done: follow-ups are published, then the message is acked
    retry,        // failed, may succeed later: retried in process, then redelivered with backoff
    permanent,    // failed, will never succeed: dead-lettered at once
    in_progress,  // still working elsewhere: the ack-wait clock restarts, nothing is settled
    defer,        // not yet due: the broker redelivers it after `delay` (not a failure; timers)
    unavailable,  // a broker or store it needs is unreachable (an outage, a leader election): the
                  // message is held in progress and handled again here after a backoff, without
                  // spending an attempt, until it gets another outcome or the worker stops
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
  static Outcome unavailable(std::string message, std::string error_class = "unavailable") {
    return {Kind::unavailable, std::move(error_class), std::move(message)};
  }
  // A call the handler depends on failed with `error`: unavailable when the broker or store was
  // unreachable or did not answer in time (nothing is wrong with the event); permanent when it
  // refused the call as malformed (a key the event's id cannot make, a value above the broker's
  // payload limit: the same event fails the same way every time); retry otherwise.
  static Outcome failed(const Error& error, std::string error_class) {
    if (error.code == Errc::unavailable || error.code == Errc::timeout) {
      return unavailable(error.describe(), std::move(error_class));
    }
    if (error.code == Errc::invalid_argument || error.code == Errc::decode) {
      return permanent(error.describe(), std::move(error_class));
    }
    return retry(error.describe(), std::move(error_class));
  }
  static Outcome in_progress() { return {Kind::in_progress, {}, {}}; }
  // Each defer uses one broker delivery: bindings that defer should allow enough attempts.
  static Outcome defer(std::chrono::milliseconds delay) { return {Kind::defer, {}, {}, delay}; }

  bool succeeded() const { return kind == Kind::success; }
};

}  // namespace fleet::runtime
