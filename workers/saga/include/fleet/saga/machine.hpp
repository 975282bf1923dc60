// The orchestrator's decisions as a pure function: (definition, current state, input event,
// now) -> what to persist and what to publish. No broker, no clock: unit-tested directly.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "fleet/saga/definition.hpp"
#include "fleet/saga/state.hpp"
#include "fleet/schemas/events/saga.hpp"

namespace fleet::saga {

struct Start {
  std::string saga_id;
  std::vector<char> data;  // the input event's body
  std::string started_at;  // the input event's occurred-at
};
using Input = std::variant<Start, schemas::StepReply, schemas::StepTimer>;

// The step of a saga's watchdog timer: one StepTimer per saga, published with its start, that
// stands for whichever step is pending. When it comes due it times out the pending step if that
// step's deadline (SagaState::due_ms) has passed, else it is deferred to that deadline; it
// retires when the saga no longer runs forward (compensating or ended). A StepTimer naming one
// step (published by earlier versions) still times out only that step.
inline constexpr std::uint32_t watchdog_step = 0xffff'ffff;

struct Decision {
  enum class Kind {
    apply,   // persist `state` (compare-and-set), then publish `outputs`
    replay,  // already applied: publish `outputs` again (same ids), persist nothing
    ignore,  // late, stale or unknown: nothing to do (`note` says why)
    defer,   // a timer that is not due yet: come back after `delay`
  };
  Kind kind = Kind::ignore;
  SagaState state;
  std::vector<Output> outputs;
  std::string note;
  std::chrono::milliseconds delay{0};
};

// `current`: the saga's stored state, null for a saga not in the store. A step that times out
// fails with "<step name>: <timed_out>".
Decision decide(const Definition& definition, const SagaState* current, const std::string& event_id,
                const Input& input, std::int64_t now_ms, std::string_view timed_out = "timed out");
inline Decision decide(const Definition& definition, const std::optional<SagaState>& current,
                       const std::string& event_id, const Input& input, std::int64_t now_ms,
                       std::string_view timed_out = "timed out") {
  return decide(definition, current ? &*current : nullptr, event_id, input, now_ms, timed_out);
}

}  // namespace fleet::saga
