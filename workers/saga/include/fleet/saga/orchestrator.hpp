// The orchestrator role of a saga: stateless processes that react to the saga's start event,
// step replies and step timers. Per event: load the saga's state from the KV bucket, decide
// (machine.hpp), persist with compare-and-set on the revision (on conflict: reload, decide
// again), then stage the decided events as follow-ups — which the worker publishes, and only
// then acks the event. docs/architecture.md ("Sagas") argues why a crash between any two of
// these steps neither loses nor duplicates a step. A start event creates the state without
// reading first (a conflict reads it). The next event of a saga whose state this process wrote
// last is decided on that remembered state without a read; the compare-and-set still guards
// it (state_cache.hpp). While events wait in the lane, the compare-and-set is staged on the
// context instead of awaited (runtime/state_write.hpp): the worker stores it before publishing
// the decided events, and a refused write has the event handled again on the stored state
// (docs/architecture.md, "Staged state writes under load").
//
// Step timeouts: see Step::timeout and Step::start_timeout (definition.hpp).
//
// Admission: each process keeps at most RoleSettings::max_active_sagas sagas active
// (active_sagas.hpp); start events beyond it wait in the stream, unconsumed, so the queue in
// front of every step stays bounded and step timeouts measure the step, not a backlog.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "fleet/broker/transport.hpp"
#include "fleet/runtime/binding.hpp"
#include "fleet/runtime/role_settings.hpp"
#include "fleet/saga/active_sagas.hpp"
#include "fleet/saga/definition.hpp"
#include "fleet/saga/machine.hpp"

namespace fleet::saga {

struct OrchestratorConfig {
  std::string role;           // e.g. "orders"; durables are <role>-start, -replies, -timers
  std::string start_stream;   // stream of the start event, e.g. "ORDERS"
  std::string start_subject;  // e.g. "orders.placed"
  std::string saga_stream;    // stream holding the definition's subject_prefix, e.g. "SAGA"
  // Stream of the steps' commands, whose participant durables are named after the steps (as
  // participant_binding names them), e.g. "STEPS": step timeouts then count from when a
  // participant took the command (step_starts.hpp). "" = from the command's publish.
  std::string steps_stream;
  // Turns the start event into the saga's id and input; an error is a permanent failure.
  std::function<Result<Start>(const schemas::Envelope&)> start;
  int max_conflicts = 32;  // compare-and-set retries per event before giving up (retryable)
  // Saga states this process remembers from its own writes, so the next event of such a saga
  // skips the KV read (a stale entry fails its compare-and-set and is read again). About 2 KB
  // per running saga, a few bytes per ended one. 0 = read the store for every event.
  std::size_t cached_states = 65'536;
};

// Opens the state bucket and returns the three bindings. The bindings keep their own copy of
// `definition`: the caller need not keep it alive. The clock is injectable for tests.
Result<std::vector<runtime::Binding>> orchestrator_bindings(
    broker::Transport& transport, const Definition& definition, const OrchestratorConfig& config,
    const runtime::RoleSettings& settings, std::function<std::int64_t()> now_ms = {});

// Reads one saga's state (nullopt if unknown), for tools and tests.
Result<std::optional<SagaState>> load_state(broker::KeyValue& bucket, std::string_view saga_id);

// The KV key of a saga id (ids with characters KV keys do not allow are escaped).
std::string state_key(std::string_view saga_id);

}  // namespace fleet::saga
