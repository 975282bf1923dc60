#include "fleet/saga/machine.hpp"

#include <algorithm>

#include "fleet/schemas/codec.hpp"

namespace fleet::saga {
namespace {

template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};

class Transition {
 public:
  Transition(const Definition& definition, SagaState state, std::int64_t now_ms)
      : definition_(definition), now_ms_(now_ms) {
    decision_.kind = Decision::Kind::apply;
    decision_.state = std::move(state);
  }

  SagaState& state() { return decision_.state; }

  void command(std::uint32_t step, bool compensate) {
    const Step& s = definition_.steps.at(step);
    schemas::StepCommand command{.saga_id = state().saga_id,
                                 .saga = definition_.name,
                                 .step = step,
                                 .step_name = s.name,
                                 .compensate = compensate,
                                 .data = state().data,
                                 .reply_to = definition_.reply_subject()};
    emit(compensate ? s.compensation_subject : s.command_subject, command);
    state().due_ms = compensate ? 0 : now_ms_ + s.timeout.count();
  }

  // The saga's one timer (see watchdog_step), first due when the shortest step could time out.
  void watchdog() {
    emit(definition_.timer_subject(),
         schemas::StepTimer{.saga_id = state().saga_id,
                            .step = watchdog_step,
                            .due_ms = now_ms_ + definition_.shortest_timeout().count()});
  }

  void lifecycle(std::string_view kind, std::string reason = {}) {
    const std::uint32_t step = state().step;
    schemas::SagaLifecycle event{
        .saga_id = state().saga_id,
        .saga = definition_.name,
        .kind = std::string(kind),
        .status = state().status,
        .step = step,
        .step_name = step < definition_.steps.size() ? definition_.steps[step].name : "",
        .reason = std::move(reason),
        .version = ++state().version,
        .started_at = state().started_at,
        .data = state().data};
    emit(definition_.lifecycle_subject(kind), event);
  }

  // Undoes completed work from step `from` downwards, skipping steps with nothing to undo.
  void compensate_from(int from) {
    for (int i = from; i >= 0; --i) {
      if (definition_.steps[static_cast<std::size_t>(i)].compensation_subject.empty()) continue;
      state().status = std::string(status::compensating);
      state().step = static_cast<std::uint32_t>(i);
      lifecycle("compensating", state().reason);
      command(static_cast<std::uint32_t>(i), true);
      return;
    }
    finish_failed(false);
  }

  void finish_failed(bool compensated) {
    state().status = std::string(status::failed);
    if (compensated) lifecycle("compensated", state().reason);
    lifecycle("failed", state().reason);
  }

  Decision done(const std::string& event_id) {
    if (state().status != status::running) state().due_ms = 0;
    auto& recent = state().recent;
    recent.push_back({event_id, decision_.outputs});
    if (recent.size() > recent_capacity) recent.erase(recent.begin());
    return std::move(decision_);
  }

 private:
  template <schemas::Event T>
  void emit(const std::string& subject, const T& event) {
    decision_.outputs.push_back({subject, std::string(T::type_name), schemas::encode(event)});
  }

  const Definition& definition_;
  std::int64_t now_ms_;
  Decision decision_;
};

Decision ignore(std::string note) {
  Decision d;
  d.kind = Decision::Kind::ignore;
  d.note = std::move(note);
  return d;
}

// The step of a saga whose compensation follows `step` (the next lower one that has one).
int previous(const Definition& definition, std::uint32_t step) {
  for (int i = static_cast<int>(step) - 1; i >= 0; --i) {
    if (!definition.steps[static_cast<std::size_t>(i)].compensation_subject.empty()) return i;
  }
  return -1;
}

}  // namespace

Decision decide(const Definition& definition, const SagaState* current, const std::string& event_id,
                const Input& input, std::int64_t now_ms, std::string_view timed_out) {
  if (current) {
    const auto& recent = current->recent;
    auto seen = std::find_if(recent.begin(), recent.end(),
                             [&](const Applied& a) { return a.event_id == event_id; });
    if (seen != recent.end()) {
      Decision d;
      d.kind = Decision::Kind::replay;
      d.outputs = seen->outputs;
      d.state = *current;
      return d;
    }
  }

  return std::visit(
      Overloaded{
          [&](const Start& start) -> Decision {
            if (current) return ignore("saga already started");
            if (definition.steps.empty()) return ignore("saga definition has no steps");
            Transition t(definition,
                         SagaState{.saga_id = start.saga_id,
                                   .saga = definition.name,
                                   .status = std::string(status::running),
                                   .started_at = start.started_at,
                                   .data = start.data},
                         now_ms);
            t.lifecycle("started");
            t.command(0, false);
            t.watchdog();
            return t.done(event_id);
          },
          [&](const schemas::StepReply& reply) -> Decision {
            if (!current) return ignore("reply for an unknown saga");
            if (current->terminal()) return ignore("reply after the saga ended");
            const bool undo = reply.outcome == outcome::compensated;
            if (reply.step != current->step ||
                current->status != (undo ? status::compensating : status::running)) {
              return ignore("late reply: the saga is no longer waiting for it");
            }
            Transition t(definition, *current, now_ms);
            const auto n = static_cast<std::uint32_t>(definition.steps.size());
            if (undo) {
              const int next = previous(definition, reply.step);
              if (next < 0) {
                t.finish_failed(true);
              } else {
                t.state().step = static_cast<std::uint32_t>(next);
                t.command(static_cast<std::uint32_t>(next), true);
              }
            } else if (reply.outcome == outcome::done) {
              if (reply.step + 1 < n) {
                t.lifecycle("step.completed");
                t.state().step = reply.step + 1;
                t.command(reply.step + 1, false);
              } else {
                // The last step's "completed" is the saga's: one event, not two.
                t.state().status = std::string(status::completed);
                t.lifecycle("completed");
              }
            } else if (reply.outcome == outcome::failed) {
              t.state().reason = definition.steps[reply.step].name + ": " + reply.reason;
              t.lifecycle("step.failed", t.state().reason);
              t.compensate_from(static_cast<int>(reply.step) - 1);
            } else {
              return ignore("unknown reply outcome '" + reply.outcome + "'");
            }
            return t.done(event_id);
          },
          [&](const schemas::StepTimer& timer) -> Decision {
            if (!current) return ignore("timer for an unknown saga");
            if (current->terminal()) return ignore("timer after the saga ended");
            const bool watchdog = timer.step == watchdog_step;
            if (current->status != status::running || (!watchdog && current->step != timer.step)) {
              return ignore("timer for a step that is no longer pending");
            }
            const std::int64_t due = watchdog ? current->due_ms : timer.due_ms;
            if (now_ms < due) {
              Decision d;
              d.kind = Decision::Kind::defer;
              d.delay = std::chrono::milliseconds(due - now_ms);
              return d;
            }
            const std::uint32_t step = current->step;
            Transition t(definition, *current, now_ms);
            t.state().reason = definition.steps[step].name + ": " + std::string(timed_out);
            t.lifecycle("step.failed", t.state().reason);
            // The step may have taken effect without its reply arriving: undo it too
            // (undo is idempotent and a participant refuses a "do" that arrives after
            // its "undo").
            t.compensate_from(static_cast<int>(step));
            return t.done(event_id);
          },
      },
      input);
}

}  // namespace fleet::saga
