#include "fleet/saga/orchestrator.hpp"

#include <algorithm>

#include "fleet/broker/delivery.hpp"
#include "fleet/runtime/handler.hpp"
#include "fleet/runtime/log.hpp"
#include "fleet/saga/state_cache.hpp"
#include "fleet/saga/step_starts.hpp"
#include "fleet/schemas/codec.hpp"
#include "saga_metrics.hpp"
#include "writes_in_flight.hpp"

namespace fleet::saga {
namespace {

using runtime::Context;
using runtime::Outcome;

bool retiring_watchdog(const Input& input) {
  const auto* timer = std::get_if<schemas::StepTimer>(&input);
  return timer != nullptr && timer->step == watchdog_step;
}

std::int64_t system_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// How long an event waits for its saga's unanswered state write before it is decided on the
// store instead (WritesInFlight).
constexpr std::chrono::seconds write_answer_wait{5};

// The backlog (Context::backlog: the binding's other deliveries waiting for or in a handler)
// from which a state write is staged rather than awaited. A staged write waits
// for cnats' flusher (about 1 ms) before it goes out; an awaited one holds up each event behind
// it for a round trip (a few tenths of a millisecond here). Staging pays from about three.
constexpr std::size_t stage_writes_from_backlog = 3;

class Orchestrator : public std::enable_shared_from_this<Orchestrator> {
 public:
  Orchestrator(Definition definition, std::shared_ptr<broker::KeyValue> bucket, int max_conflicts,
               std::size_t max_active, std::size_t cached_states,
               std::function<std::int64_t()> now_ms, std::unique_ptr<StepStarts> starts)
      : definition_(std::move(definition)),
        bucket_(std::move(bucket)),
        max_conflicts_(max_conflicts),
        active_(max_active),
        cache_(cached_states),
        now_ms_(std::move(now_ms)),
        starts_(std::move(starts)) {}

  std::int64_t now_ms() const { return now_ms_(); }
  ActiveSagas& active() { return active_; }
  SagaMetrics counted;  // fleet_sagas_* of this process

  // A start event takes its place among the active sagas before it is handled (it was
  // admitted); the place is given back unless the start was applied (a duplicate start, an
  // error).
  Outcome start(const Start& start, Context& context) {
    active_.started();
    bool began = false;  // the place is the new saga's, or its state write's until answered
    Outcome outcome = handle(start.saga_id, start, context, &began);
    if (!began) active_.ended();
    return outcome;
  }

  Outcome handle(const std::string& saga_id, const Input& input, Context& context,
                 bool* began = nullptr) {
    // A start is almost always for a new saga: try to create its state without reading first;
    // if it exists after all, the create's conflict reads it and decides again. Other events
    // first try the state this process wrote last (state_cache.hpp).
    bool read = !std::holds_alternative<Start>(input);
    bool try_cache = read;
    // While other events wait (Context::backlog), the state write is staged on the
    // context: stored before the outputs, without the lane waiting for it, and sharing its
    // round trip with other writes. Otherwise it is written at once (stage_writes_from_backlog).
    // A saga whose staged write was just refused is read and written synchronously.
    const bool refused = writes_.take_refused(saga_id);
    const bool stage_write = !refused && context.backlog() >= stage_writes_from_backlog;
    if (refused) read = true;
    if (!writes_.wait_until_answered(saga_id, write_answer_wait)) try_cache = false;
    for (int conflicts = 0; conflicts <= max_conflicts_; ++conflicts, read = true) {
      std::shared_ptr<const SagaState> current;
      std::uint64_t revision = 0;
      bool cached = false;
      if (read && try_cache) {
        try_cache = false;
        if (auto hit = cache_.find(saga_id)) {
          if (!hit->state) {
            // Ended: final wherever it is known. A timer retires; anything else reads the
            // store, whose applied-event list may ask for a replay.
            if (std::holds_alternative<schemas::StepTimer>(input)) {
              return ignored(saga_id, input, context, "timer after the saga ended");
            }
          } else {
            current = std::move(hit->state);
            revision = hit->revision;
            cached = true;
          }
        }
      }
      if (read && !cached) {
        auto entry = bucket_->get(state_key(saga_id));
        if (!entry) return Outcome::failed(entry.error(), "store");
        if (*entry) {
          auto state = schemas::decode<SagaState>((*entry)->value);
          if (!state) return Outcome::permanent("saga state: " + state.error().message, "store");
          current = std::make_shared<const SagaState>(std::move(*state));
          revision = (*entry)->revision;
          if (current->terminal()) cache_.written(current, revision);
        }
      }
      const std::int64_t now = now_ms_();
      Decision decision = decide(definition_, current.get(), context.event().id, input, now);
      // A timer that would time a step out: first, was the command taken, and when?
      if (decision.kind == Decision::Kind::apply &&
          std::holds_alternative<schemas::StepTimer>(input)) {
        const auto timing = timing_of(*current, now);
        if (!timing) return Outcome::failed(timing.error(), "broker");
        if (timing->kind == StepStarts::Verdict::Kind::wait) return Outcome::defer(timing->wait);
        if (timing->kind == StepStarts::Verdict::Kind::not_started) {
          decision = decide(
              definition_, current.get(), context.event().id, input, now,
              "not taken by a participant within " +
                  std::to_string(definition_.steps[current->step].start_timeout.count()) + " ms");
        }
      }
      // Only a write checks a cached state against the store: anything else decided on it
      // (a reply taken for late, a replay) is decided again on the stored state.
      if (cached && decision.kind != Decision::Kind::apply &&
          decision.kind != Decision::Kind::defer) {
        continue;
      }
      switch (decision.kind) {
        case Decision::Kind::ignore:
          return ignored(saga_id, input, context, decision.note);
        case Decision::Kind::defer:
          return Outcome::defer(decision.delay);
        case Decision::Kind::replay:
          stage(context, saga_id, std::move(decision.outputs));
          return Outcome::ok();
        case Decision::Kind::apply: {
          std::string value = schemas::encode(decision.state);
          if (stage_write) {
            const bool starts = !current && began != nullptr;
            write_first(context, saga_id, std::move(value), current ? revision : 0,
                        std::move(decision.state), starts);
            if (starts) *began = true;
            stage(context, saga_id, std::move(decision.outputs));
            return Outcome::ok();
          }
          auto written = current ? bucket_->update(state_key(saga_id), value, revision)
                                 : bucket_->create(state_key(saga_id), value);
          if (!written) {
            if (written.error().code == Errc::conflict) {  // reload, decide again
              if (cached) cache_.forget(saga_id);
              continue;
            }
            return Outcome::failed(written.error(), "store");
          }
          const bool starts = !current && began != nullptr;
          if (starts) *began = true;
          stored(std::make_shared<const SagaState>(std::move(decision.state)), *written, starts);
          stage(context, saga_id, std::move(decision.outputs));
          return Outcome::ok();
        }
      }
    }
    return Outcome::retry("saga state kept changing under " + std::to_string(max_conflicts_) +
                              " compare-and-set attempts",
                          "conflict");
  }

 private:
  // Stages the saga's new state as a compare-and-set on `revision` (0: create) that the worker
  // stores before the outputs. Its answer does what a synchronous write does after it: the
  // cache, the active count and the metrics; a refused write makes the next handling of the
  // saga read the store. `starts`: the write creates the saga, which holds an active place.
  void write_first(Context& context, const std::string& saga_id, std::string value,
                   std::uint64_t revision, SagaState state, bool starts) {
    writes_.staged(saga_id);
    auto written = std::make_shared<const SagaState>(std::move(state));
    context.write_first(runtime::StateWrite(
        bucket_, state_key(saga_id), std::move(value), revision,
        [self = shared_from_this(), saga_id, written, starts](const Result<std::uint64_t>& stored) {
          self->answered(saga_id, written, starts, stored);
        }));
  }

  // After a state write is stored, staged or not: the metrics, the active count, the cache.
  void stored(const std::shared_ptr<const SagaState>& state, std::uint64_t revision, bool starts) {
    if (starts) counted.started(active_.active());
    if (state->terminal()) {
      active_.ended();
      counted.ended(state->status, active_.active());
    }
    cache_.written(state, revision);
  }

  void answered(const std::string& saga_id, const std::shared_ptr<const SagaState>& state,
                bool starts, const Result<std::uint64_t>& stored) {
    if (stored) {
      this->stored(state, *stored, starts);
    } else {
      cache_.forget(saga_id);
      if (starts) active_.ended();  // the start's place, given back; its next handling asks again
    }
    writes_.answered(saga_id, !stored);
  }

  // For a running saga whose pending step's deadline has passed: time it out, or wait because
  // its command was taken late or not yet.
  Result<StepStarts::Verdict> timing_of(const SagaState& state, std::int64_t now) {
    if (!starts_ || state.due_ms == 0 || state.step >= definition_.steps.size()) {
      return StepStarts::Verdict{};
    }
    const Step& step = definition_.steps[state.step];
    return starts_->check(step.name, state.due_ms - step.timeout.count(), step.timeout,
                          step.start_timeout, now);
  }

  // A watchdog timer retiring after its saga ended is the normal path, once per saga: debug.
  // Other ignored events are late or stale: info.
  static Outcome ignored(const std::string& saga_id, const Input& input, Context& context,
                         const std::string& why) {
    runtime::log::write(retiring_watchdog(input) ? spdlog::level::debug : spdlog::level::info,
                        "saga event ignored",
                        {{"saga_id", saga_id},
                         {"event_id", context.event().id},
                         {"type", context.event().type},
                         {"why", why}});
    return Outcome::ok();
  }

  static void stage(Context& context, const std::string& saga_id, std::vector<Output> outputs) {
    for (auto& out : outputs) {
      context.stage(std::move(out.subject), std::move(out.type), 1, std::move(out.body), saga_id);
    }
  }

  const Definition definition_;  // its own copy: the caller's may be gone
  std::shared_ptr<broker::KeyValue> bucket_;
  int max_conflicts_;
  ActiveSagas active_;
  StateCache cache_;
  std::function<std::int64_t()> now_ms_;
  std::unique_ptr<StepStarts> starts_;  // null: step timeouts count from sending
  WritesInFlight writes_;
};

}  // namespace

std::string state_key(std::string_view saga_id) {
  return "saga." + broker::key_token(saga_id);
}

Result<std::optional<SagaState>> load_state(broker::KeyValue& bucket, std::string_view saga_id) {
  auto entry = bucket.get(state_key(saga_id));
  if (!entry) return fail(entry.error());
  if (!*entry) return std::optional<SagaState>{};
  auto state = schemas::decode<SagaState>((*entry)->value);
  if (!state) return fail(state.error());
  return std::optional<SagaState>(std::move(*state));
}

Result<std::vector<runtime::Binding>> orchestrator_bindings(broker::Transport& transport,
                                                            const Definition& definition,
                                                            const OrchestratorConfig& config,
                                                            const runtime::RoleSettings& settings,
                                                            std::function<std::int64_t()> now_ms) {
  // History 1: only the latest state matters; revisions still grow for compare-and-set.
  auto bucket = transport.key_value({.name = definition.state_bucket()});
  if (!bucket) return fail(bucket.error());
  auto orchestrator = std::make_shared<Orchestrator>(
      definition, std::shared_ptr<broker::KeyValue>(std::move(*bucket)), config.max_conflicts,
      static_cast<std::size_t>(std::max(0, settings.max_active_sagas)), config.cached_states,
      now_ms ? std::move(now_ms) : system_now_ms,
      config.steps_stream.empty()
          ? nullptr
          : std::make_unique<StepStarts>(
                [&transport, stream = config.steps_stream](const std::string& durable) {
                  return transport.delivery_progress(stream, durable);
                }));
  orchestrator->counted = SagaMetrics(settings.metrics, config.role, definition.name);

  auto binding = [&](std::string suffix, std::string stream, std::string subject,
                     runtime::Handler handler) {
    runtime::Binding b = settings.apply({.role = config.role,
                                         .stream = std::move(stream),
                                         .subject = std::move(subject),
                                         .handler = std::move(handler),
                                         .durable = config.role + "-" + suffix});
    // The saga state's applied-event list already turns a redelivery into a replay (same
    // outputs, same ids): the inbox would only add two KV round trips per event.
    b.inbox = false;
    return b;
  };

  std::vector<runtime::Binding> bindings;
  auto starts = binding(
      "start", config.start_stream, config.start_subject,
      [orchestrator, start = config.start](const schemas::Envelope& envelope, Context& context) {
        auto input = start(envelope);
        if (!input) return Outcome::permanent(input.error().message, "decode");
        return orchestrator->start(*input, context);
      });
  // Admission: start events beyond the cap stay in the stream, unattempted, until sagas end.
  // Fetched starts count as active from their handler on, so the cap can be passed by at most
  // the start binding's max_in_flight; it is kept within the cap.
  if (const auto cap = orchestrator->active().cap(); cap > 0) {
    starts.admission = [orchestrator] { return orchestrator->active().room(); };
    starts.max_in_flight =
        static_cast<int>(std::min(static_cast<std::size_t>(starts.max_in_flight), cap));
  }
  bindings.push_back(std::move(starts));
  bindings.push_back(binding("replies", config.saga_stream, definition.reply_subject(),
                             runtime::typed<schemas::StepReply>(
                                 [orchestrator](const schemas::StepReply& reply, Context& context) {
                                   return orchestrator->handle(reply.saga_id, reply, context);
                                 })));
  auto timers =
      binding("timers", config.saga_stream, definition.timer_subject(),
              runtime::typed<schemas::StepTimer>(
                  [orchestrator](const schemas::StepTimer& timer, Context& context) {
                    // Not due yet: back to the broker without reading saga state.
                    if (const auto now = orchestrator->now_ms(); now < timer.due_ms) {
                      return Outcome::defer(std::chrono::milliseconds(timer.due_ms - now));
                    }
                    return orchestrator->handle(timer.saga_id, timer, context);
                  }));
  // The fetch thread holds a timer until it is due (Binding::hold_for): the watchdog timers of
  // one definition come due in the order they were published, so each is delivered once and
  // handled when due, by when its saga has mostly ended (retired from the state cache without a
  // read), instead of being delivered at once, deferred, and delivered again.
  timers.hold_for = [orchestrator](const broker::Delivery& delivery) {
    auto timer = schemas::decode<schemas::StepTimer>(delivery.body());
    if (!timer) return std::chrono::milliseconds(0);  // the handler dead-letters it
    return std::chrono::milliseconds(
        std::max<std::int64_t>(0, timer->due_ms - orchestrator->now_ms()));
  };
  // A hold needs an ack wait of twice its length; the shortest step timeout is the longest
  // first hold. (A killed orchestrator's held timers come back after this ack wait.)
  timers.ack_wait =
      std::max(timers.ack_wait, 2 * definition.shortest_timeout() + std::chrono::seconds(1));
  // Each deferral of a timer uses one broker delivery; timers are cheap to hand back. A step
  // whose command waits for a participant defers its timer every few seconds, up to the
  // step's start_timeout.
  timers.retry.max_attempts = std::max(timers.retry.max_attempts, 200);
  // A deferred timer (its hold did not fit, or it was deferred again) stays unacked on the
  // durable until it comes due: up to one per saga of the last step timeout, also of sagas
  // that already ended. The durable's cap must not hold new timers back behind them, or a
  // stuck step would time out late.
  timers.max_ack_pending = std::max(timers.max_ack_pending, 100'000);
  bindings.push_back(std::move(timers));
  return bindings;
}

}  // namespace fleet::saga
