// The durable state of one saga instance, stored under its saga id in the definition's KV
// bucket and written with compare-and-set on the entry's revision.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <msgpack.hpp>

namespace fleet::saga {

namespace status {
inline constexpr std::string_view running = "running";
inline constexpr std::string_view compensating = "compensating";
inline constexpr std::string_view completed = "completed";
inline constexpr std::string_view failed = "failed";
}  // namespace status

// One event the orchestrator publishes as a consequence of a transition.
struct Output {
  std::string subject;
  std::string type;
  std::string body;  // msgpack
  MSGPACK_DEFINE_MAP(subject, type, body);
};

// An applied input event and what it made the orchestrator publish. Kept for the last few
// transitions: an input redelivered after a crash between "persist" and "publish" finds itself
// here and its outputs are published again (with the same ids, so the broker drops copies).
struct Applied {
  std::string event_id;
  std::vector<Output> outputs;
  MSGPACK_DEFINE_MAP(event_id, outputs);
};

struct SagaState {
  // For schemas::encode / decode (bounded, every field but due_ms required); not a published
  // event.
  static constexpr std::string_view type_name = "saga.State";
  static constexpr std::uint32_t schema_version = 2;  // 2: due_ms
  // States written before due_ms existed decode with 0 (their sagas still have one timer
  // message per step, which times out that step), so running sagas survive an upgrade.
  static constexpr std::string_view optional_fields[] = {"due_ms"};

  std::string saga_id;
  std::string saga;
  std::string status;
  std::uint32_t step = 0;     // running: the step awaiting its reply; compensating: being undone
  std::int64_t due_ms = 0;    // running: when the pending step times out (unix ms); else 0
  std::string reason;         // why the saga failed
  std::uint64_t version = 0;  // lifecycle events published so far
  std::string started_at;
  std::vector<char> data;  // the saga's input body
  std::vector<Applied> recent;

  bool terminal() const { return status == "completed" || status == "failed"; }
  MSGPACK_DEFINE_MAP(saga_id, saga, status, step, due_ms, reason, version, started_at, data,
                     recent);
};

inline constexpr std::size_t recent_capacity = 8;

}  // namespace fleet::saga
