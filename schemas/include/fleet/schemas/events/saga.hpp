// Events of orchestrated sagas (workers/saga/). Generic over the saga's own input: `data` is the
// msgpack body of the event that started the saga (e.g. an OrderPlaced), passed on to every step.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <msgpack.hpp>

namespace fleet::schemas {

// Orchestrator -> participant: do (or undo, when `compensate`) step `step` of saga `saga_id`.
struct StepCommand {
  static constexpr std::string_view type_name = "saga.StepCommand";
  static constexpr std::uint32_t schema_version = 1;

  std::string saga_id;
  std::string saga;  // definition name, e.g. "order_fulfilment"
  std::uint32_t step = 0;
  std::string step_name;  // e.g. "payment"
  bool compensate = false;
  std::vector<char> data;  // the saga's input body (msgpack)
  std::string reply_to;    // subject the participant replies on

  bool operator==(const StepCommand&) const = default;
  MSGPACK_DEFINE_MAP(saga_id, saga, step, step_name, compensate, data, reply_to);
};

// Participant -> orchestrator. `outcome`: "done" or "failed" for a step, "compensated" for an
// undo. `reason` says why a step failed (a business refusal, not an error of the participant).
struct StepReply {
  static constexpr std::string_view type_name = "saga.StepReply";
  static constexpr std::uint32_t schema_version = 1;

  std::string saga_id;
  std::uint32_t step = 0;
  std::string outcome;
  std::string reason;

  bool operator==(const StepReply&) const = default;
  MSGPACK_DEFINE_MAP(saga_id, step, outcome, reason);
};

// Orchestrator -> itself, through the stream: step `step` of the saga times out at `due_ms`
// (Unix ms). Held by the broker until due (redelivery with delay), so it survives restarts.
struct StepTimer {
  static constexpr std::string_view type_name = "saga.StepTimer";
  static constexpr std::uint32_t schema_version = 1;

  std::string saga_id;
  std::uint32_t step = 0;
  std::int64_t due_ms = 0;

  bool operator==(const StepTimer&) const = default;
  MSGPACK_DEFINE_MAP(saga_id, step, due_ms);
};

// A saga's lifecycle, for projections and operators. `kind`: started, step.completed,
// step.failed, compensating, compensated, completed, failed (the last step's success is the
// saga's "completed", with no step.completed of its own). `version` grows by one with every
// lifecycle event of the saga, so a read model applies each once and in order.
struct SagaLifecycle {
  static constexpr std::string_view type_name = "saga.Lifecycle";
  static constexpr std::uint32_t schema_version = 1;

  std::string saga_id;
  std::string saga;
  std::string kind;
  std::string status;  // running, compensating, completed, failed
  std::uint32_t step = 0;
  std::string step_name;
  std::string reason;
  std::uint64_t version = 0;
  std::string started_at;  // RFC 3339, when the saga's input event occurred
  std::vector<char> data;  // the saga's input body

  bool operator==(const SagaLifecycle&) const = default;
  MSGPACK_DEFINE_MAP(saga_id, saga, kind, status, step, step_name, reason, version, started_at,
                     data);
};

}  // namespace fleet::schemas
