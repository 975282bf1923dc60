// How a delivery is settled, decided without a broker: the worker asks these functions and only
// carries out the answer (publish, ack, redeliver, dead-letter), so every rule here is
// unit-tested on its own (tests/unit/settlement_test.cpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "fleet/runtime/outcome.hpp"
#include "fleet/runtime/retry_policy.hpp"

namespace fleet::runtime {

struct Settlement {
  enum class Action {
    ack,          // done: never deliver again
    publish,      // handled: store follow-ups and the inbox entry first, then ack
    redeliver,    // hand back to the broker; deliver again after `delay`
    dead_letter,  // failed for good: copy to the dead-letter stream, then terminate
    extend,       // leave unsettled and restart the ack-wait clock (work continues elsewhere)
    hold,         // a dependency is unreachable: keep it in progress, try again here after a pause
  };
  Action action = Action::ack;
  std::chrono::milliseconds delay{0};  // redeliver
  std::string error_class;             // dead_letter, and a redelivered handler failure
  std::string reason;                  // why, for the dead letter and the log
  // A redelivery because the handler failed (logged and counted as a retry, remembered as a
  // failure in the inbox), not one the worker chose (inbox unavailable) or the handler asked for
  // (defer).
  bool handler_failed = false;

  friend bool operator==(const Settlement&, const Settlement&) = default;
};

// What the inbox said about a delivery's event before its handler would run.
enum class InboxAnswer {
  none,         // no inbox on this binding
  new_event,    // not handled before
  handled,      // handled before, or being settled right now by its twin
  unavailable,  // the inbox could not be read
};

// Before the handler runs. An answer means the handler must not run, in this order: an event
// the inbox knows is acked as a duplicate (however often it was delivered); a delivery past the
// policy's attempts is poison (its earlier workers crashed or timed out on it); one whose inbox
// could not be read is held and asked about again after a pause (an unreachable store is not the
// event's fault: it costs no attempt). No answer: run the handler.
std::optional<Settlement> before_handling(std::uint64_t attempt, const RetryPolicy& policy,
                                          InboxAnswer inbox);

// After the handler returned `outcome` on delivery `attempt`. `has_follow_ups` and `inbox` tell
// whether a success has anything to store before its ack; `backoff` is the delay for a
// redelivered failure (RetryPolicy::backoff, drawn by the caller).
Settlement after_handling(const Outcome& outcome, std::uint64_t attempt, const RetryPolicy& policy,
                          bool has_follow_ups, bool inbox, std::chrono::milliseconds backoff);

}  // namespace fleet::runtime
