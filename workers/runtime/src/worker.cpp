#include "fleet/runtime/worker.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "confirmations.hpp"
#include "fleet/backoff.hpp"
#include "fleet/runtime/log.hpp"
#include "fleet/runtime/log_throttle.hpp"
#include "fleet/runtime/middleware.hpp"
#include "fleet/runtime/settlement.hpp"
#include "fleet/thread_name.hpp"
#include "gate.hpp"
#include "keep_alive.hpp"
#include "lanes.hpp"

namespace fleet::runtime {
namespace {

nlohmann::json merged(nlohmann::json fields, const nlohmann::json& more) {
  fields.update(more);
  return fields;
}

// Below this many deliveries of a binding waiting for or in a handler, the state writes and
// follow-ups a handler left are sent at once (Transport::send_now); from it on they wait for the
// client's own batching (NATS: cnats' flusher, up to 1 ms) and go out with those of the next
// handlers. At once, each hop of a saga step is faster by up to 1 ms when the system is not
// busy; under a burst the batching saves system calls on both sides (docs/benchmarks.md).
constexpr int send_at_once_below = 3;

}  // namespace

using Clock = std::chrono::steady_clock;
using spdlog::level::level_enum;

std::string default_worker_id() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  return std::string(host[0] ? host : "unknown") + ":" + std::to_string(::getpid());
}

class Worker::Runner {
 public:
  Runner(broker::Transport& transport, const WorkerConfig& config, Binding binding,
         std::unique_ptr<broker::Subscription> subscription, std::optional<Inbox> inbox)
      : transport_(transport),
        config_(config),
        binding_(std::move(binding)),
        subscription_(std::move(subscription)),
        inbox_(std::move(inbox)),
        metrics_(config.metrics),
        random_(default_random()) {
    auto middleware = binding_.middleware;
    middleware.push_back(immediate_retry(binding_.retry));
    if (binding_.timeout.count() > 0) middleware.push_back(timeout(binding_.timeout));
    middleware.push_back(recover());
    handler_ = [this, inner = chain(binding_.handler, middleware)](
                   const schemas::Envelope& envelope, Context& context) {
      // The handler itself runs outside the gate (a stop does not wait for it) and is timed by
      // the lanes' watchdog. When it returns to a lane that was replaced meanwhile, or to a
      // halted worker, its outcome is dropped and the delivery left alone (see work()).
      gate_.leave();
      Lanes::watch_begin();
      Outcome outcome = inner(envelope, context);
      const bool still_ours = Lanes::watch_end();
      if (!gate_.enter()) throw Abandoned{};
      if (!still_ours) {
        gate_.leave();
        throw Abandoned{};
      }
      return outcome;
    };
  }

  void start() {
    confirmations_ = std::make_unique<Confirmations>(
        config_.dead_letter.publish_timeout,
        [this](Pending& pending, const Status& result) { next_stage(pending, result); },
        binding_.role);
    lanes_ = std::make_unique<Lanes>(
        binding_.concurrency, [this](broker::Delivery& delivery) { work(delivery); }, stuck_after(),
        [this] { lane_replaced(); }, binding_.role);
    fetcher_ = std::thread([this] {
      name_this_thread("fetch", binding_.role);
      fetch_loop();
    });
  }

  void stop_fetching() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    room_.notify_all();
    // Ends a long-poll fetch now rather than after fetch_wait: the stop waits for in-flight work,
    // not for the broker.
    subscription_->close();
    if (fetcher_.joinable()) fetcher_.join();
    // Messages held for a broker that did not answer are handed back now, not after their delay.
    if (confirmations_) confirmations_->hurry();
  }

  // True when every fetched delivery was settled before the deadline.
  bool drain(Clock::time_point deadline) {
    std::unique_lock lock(mutex_);
    return room_.wait_until(lock, deadline, [&] { return in_flight_ + settling_count_ == 0; });
  }

  // Stops the lanes (joined, or detached when `join` is false because a handler still runs),
  // waits for lane threads inside a settle path and closes the way in, then stops confirming.
  // Afterwards nothing of this runner reaches the transport; a lane thread whose handler
  // returns later only touches this object, which must then be kept alive (threads_left()).
  void halt(bool join) {
    lanes_->halt(join);
    gate_.close();
    confirmations_.reset();
  }
  // Whether threads that may still use this runner were left running by halt().
  bool threads_left(bool joined) const { return !joined || lanes_->abandoned_running() > 0; }
  int in_flight() {
    std::lock_guard lock(mutex_);
    return in_flight_ + settling_count_;
  }

 private:
  // Whether process() settled the delivery or handed it to confirmations_.
  enum class Settled { now, later };
  // Thrown from the handler wrapper when the delivery is no longer this lane's to settle.
  struct Abandoned {};

  // One delivery on a lane thread: processed inside the gate, except for the handler call.
  void work(broker::Delivery& delivery) {
    if (!gate_.enter()) {
      leave_alone(std::move(delivery));
      return;
    }
    Settled settled = Settled::now;
    try {
      settled = process(delivery);
    } catch (const Abandoned&) {
      leave_alone(std::move(delivery));  // its in-flight slot was freed when it was abandoned
      return;
    }
    gate_.leave();
    if (settled == Settled::now) release();
  }

  // Drops a delivery unsettled (the broker redelivers it after the ack wait). While the worker
  // halts, its transport may be gone: the delivery is then kept, untouched, until exit.
  void leave_alone(broker::Delivery delivery) {
    if (!gate_.enter()) {
      keep_alive(std::make_shared<broker::Delivery>(std::move(delivery)));
      return;
    }
    { const broker::Delivery dropped = std::move(delivery); }
    gate_.leave();
  }

  // The lanes' watchdog limit: well past the handler timeout, so a handler that checks
  // Context::past_deadline() returns first. No timeout, no watchdog.
  std::chrono::milliseconds stuck_after() const {
    if (binding_.timeout.count() <= 0) return {};
    return binding_.timeout * 2 + std::chrono::seconds(1);
  }

  // On the watchdog thread: a handler ran past stuck_after() and its lane got a new thread.
  void lane_replaced() {
    if (metrics_) metrics_->lane_replaced(binding_.role);
    log::write(level_enum::err,
               "handler stuck past its timeout; lane replaced, its message is redelivered after "
               "the ack wait",
               {{"role", binding_.role},
                {"timeout_ms", binding_.timeout.count()},
                {"stuck_after_ms", stuck_after().count()}});
    release();
  }

  // One fetched delivery is settled: its in-flight slot is free.
  void release() {
    if (metrics_) metrics_->in_flight(binding_.role, -1);
    std::lock_guard lock(mutex_);
    --in_flight_;
    room_.notify_all();
  }
  // What the handlers left to publish goes out now, unless this binding is busy.
  void send_unless_busy() {
    {
      std::lock_guard lock(mutex_);
      if (in_flight_ >= send_at_once_below) return;
    }
    transport_.send_now();
  }
  // Deliveries of this binding fetched and waiting for or in a handler, besides the caller's.
  std::size_t waiting_besides_this() {
    std::lock_guard lock(mutex_);
    return static_cast<std::size_t>(std::max(0, in_flight_ - 1));
  }
  // A handled delivery goes to the confirmations stage: it leaves max_in_flight (its handler is
  // done) and takes a place among the max_settling deliveries waiting for the broker.
  void start_confirming() {
    std::lock_guard lock(mutex_);
    --in_flight_;
    ++settling_count_;
    room_.notify_all();
  }
  // A delivery leaves the confirmations stage settled.
  void confirmed() {
    if (metrics_) metrics_->in_flight(binding_.role, -1);
    std::lock_guard lock(mutex_);
    --settling_count_;
    room_.notify_all();
  }
  // A delivery leaves the confirmations stage to be handled again on its lane.
  void back_to_lane() {
    std::lock_guard lock(mutex_);
    --settling_count_;
    ++in_flight_;
  }

  void fetch_loop() {
    auto last_warning = Clock::time_point{};
    // After a failed fetch: every 250 ms (fleet::Backoff with a multiplier of 1), as long as the
    // broker is away.
    const Backoff fetch_retry{.initial = std::chrono::milliseconds(250),
                              .multiplier = 1.0,
                              .max = std::chrono::milliseconds(250),
                              .jitter = Backoff::Jitter::none};
    std::uint64_t fetch_failures = 0;
    for (;;) {
      std::size_t room = 0;
      {
        std::unique_lock lock(mutex_);
        // Fetch in sizeable batches: each fetch is a round trip to the server, so refilling
        // one slot at a time would cap throughput at one message per round trip.
        // Deliveries waiting for confirmations leave room for handlers, up to max_settling:
        // their broker round trips overlap with the next deliveries' handling.
        const int refill = std::max(1, binding_.max_in_flight / 4);
        const auto free = [&] {
          return std::min(
              binding_.max_in_flight - in_flight_,
              binding_.max_in_flight + binding_.max_settling - in_flight_ - settling_count_);
        };
        room_.wait(lock, [&] { return stopping_ || free() >= refill; });
        if (stopping_) return;
        room = static_cast<std::size_t>(free());
      }
      if (binding_.admission) {
        room = std::min(room, binding_.admission());
        if (room == 0) {
          std::unique_lock lock(mutex_);
          room_.wait_for(lock, binding_.admission_poll, [&] { return stopping_; });
          continue;
        }
      }
      auto batch = subscription_->fetch(room, config_.fetch_wait);
      if (!batch) {
        // A broker outage is retried and reported, at most every 5 s so logs stay readable.
        if (Clock::now() - last_warning > std::chrono::seconds(5)) {
          log::write(level_enum::warn, "fetch failed; retrying",
                     {{"role", binding_.role}, {"error", batch.error().describe()}});
          last_warning = Clock::now();
        }
        // The connection reconnects on its own schedule; asking again soon notices it is back.
        // A stop does not wait for the pause.
        std::unique_lock lock(mutex_);
        room_.wait_for(lock, fetch_retry.delay(++fetch_failures), [&] { return stopping_; });
        continue;
      }
      fetch_failures = 0;
      {
        std::lock_guard lock(mutex_);
        in_flight_ += static_cast<int>(batch->size());
      }
      if (metrics_) metrics_->in_flight(binding_.role, static_cast<int>(batch->size()));
      if (inbox_) look_up(*batch);
      if (binding_.hold_for) {
        if (!hand_on_when_due(*batch)) return;
        continue;
      }
      lanes_->push(*batch, lane_key);
    }
  }

  // Binding::hold_for: the batch goes to the lanes in fetch order, each delivery once it is
  // due. False when the worker stopped meanwhile: the deliveries still held go back to the
  // broker for the rest of their hold, as a handler's defer would send them.
  bool hand_on_when_due(std::vector<broker::Delivery>& batch) {
    std::vector<broker::Delivery> ready;
    const auto hand_on = [&] {
      if (!ready.empty()) lanes_->push(ready, lane_key);
      ready.clear();
    };
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const auto hold = binding_.hold_for(batch[i]);
      // A hold near the ack wait is not held: the broker would deliver it again meanwhile.
      if (hold.count() > 0 && hold < binding_.ack_wait / 2) {
        hand_on();  // what is due already does not wait behind this one
        std::unique_lock lock(mutex_);
        if (room_.wait_for(lock, hold, [&] { return stopping_; })) {
          lock.unlock();
          for (std::size_t j = i; j < batch.size(); ++j) {
            settle(batch[j], Settlement::Action::redeliver,
                   std::max(binding_.hold_for(batch[j]), std::chrono::milliseconds(0)));
            release();
          }
          return false;
        }
      }
      ready.push_back(std::move(batch[i]));
    }
    hand_on();
    return true;
  }

  // Keyless events are spread by event id, so two copies of one event (a redelivery racing
  // a duplicate publish) queue in one lane and the inbox sees the first one.
  static std::string_view lane_key(const broker::Delivery& delivery) {
    auto key = delivery.header(schemas::header::ordering_key);
    if (!key || key->empty()) key = delivery.header(schemas::header::id);
    return key.value_or(std::string_view{});
  }

  std::chrono::milliseconds backoff(const broker::Delivery& delivery) const {
    return binding_.retry.backoff(delivery.attempt(), random_);
  }

  // Decides (settlement.hpp) and carries the decision out. A broker or store the event needs
  // being unreachable is not the event's fault: the delivery is held here, in progress, and
  // tried again after a pause, without spending an attempt (see hold()).
  Settled process(broker::Delivery& delivery) {
    auto meta = schemas::metadata_from(
        [&delivery](std::string_view name) { return delivery.header(name); });
    if (!meta) {
      dead_letter(delivery, nullptr, "decode", meta.error().message);
      return Settled::now;
    }
    // The body is copied only when the handler runs.
    schemas::Envelope envelope{std::move(*meta), {}};
    const schemas::Metadata& event = envelope.meta;
    const auto fields = [&] {
      return log::event_fields(event, delivery.subject(), delivery.attempt(), binding_.role);
    };
    auto last_alert = Clock::time_point{};
    for (std::uint64_t round = 1;; ++round) {
      std::string inbox_error;
      std::optional<Settlement> settlement =
          before_handling(delivery.attempt(), binding_.retry, inbox_answer(event.id, inbox_error));
      if (settlement && settlement->action != Settlement::Action::hold) {
        return carry_out(delivery, event, *settlement, fields, nullptr);
      }
      if (settlement && !inbox_error.empty()) settlement->reason += ": " + inbox_error;
      std::optional<Context> context;
      if (!settlement) {
        if (envelope.body.empty()) envelope.body.assign(delivery.body());
        context.emplace(envelope.meta, delivery.attempt(), binding_.role,
                        [this, &delivery] { settle(delivery, Settlement::Action::extend); });
        context->set_backlog(waiting_besides_this());
        settlement = handle(envelope, delivery, *context);
        if (settlement->action != Settlement::Action::hold) {
          return carry_out(delivery, event, *settlement, fields, &*context);
        }
      }
      if (!hold(delivery, *settlement, round, last_alert, fields)) return Settled::now;
    }
  }

  // Runs the handler once and decides what its outcome means for the delivery.
  Settlement handle(const schemas::Envelope& envelope, broker::Delivery& delivery,
                    Context& context) {
    const auto started = Clock::now();
    const Outcome outcome = handler_(envelope, context);
    if (metrics_) {
      if (outcome.succeeded()) {
        metrics_->handled(binding_.role, binding_.subject,
                          std::chrono::duration<double>(Clock::now() - started).count());
      } else if (outcome.kind == Outcome::Kind::retry || outcome.kind == Outcome::Kind::permanent ||
                 outcome.kind == Outcome::Kind::unavailable) {
        metrics_->failed(binding_.role, binding_.subject, outcome.error_class);
      }
    }
    return after_handling(outcome, delivery.attempt(), binding_.retry,
                          !context.follow_ups().empty() || !context.writes().empty(),
                          inbox_.has_value(), backoff(delivery));
  }

  // A line every in-flight message may write at once in an outage: at most one of `message` a
  // second per binding, carrying how many were left out since the last (log_throttle.hpp).
  void write_alike(level_enum level, std::string_view message, nlohmann::json fields) {
    const auto left_out = alike_.admit(message, Clock::now());
    if (!left_out) return;
    if (*left_out > 0) fields["alike_left_out"] = *left_out;
    log::write(level, message, std::move(fields));
  }

  // One round of holding a delivery whose broker or store was unreachable (hold_round()).
  template <class Fields>
  bool hold(broker::Delivery& delivery, const Settlement& settlement, std::uint64_t round,
            Clock::time_point& last_alert, const Fields& fields) {
    if (metrics_) metrics_->held(binding_.role, settlement.error_class);
    const bool held = hold_round(delivery, round, last_alert, [&] {
      write_alike(level_enum::warn, "dependency unreachable; holding the message",
                  merged(fields(), {{"error_class", settlement.error_class},
                                    {"error", settlement.reason},
                                    {"round", round}}));
    });
    if (!held) {
      log::write(level_enum::info, "stopping: a held message is left for redelivery", fields());
    }
    return held;
  }

  // One round of keeping `delivery` here instead of handing it back to the broker (which would
  // cost it an attempt, or lose its failure reason): `alert` runs at most every 5 s per message,
  // the delivery is kept in progress (the broker does not redeliver it meanwhile) and waits
  // hold_delay(round). False when the worker is stopping: the delivery is then left unsettled
  // and the broker redelivers it after the ack wait.
  template <class Alert>
  bool hold_round(broker::Delivery& delivery, std::uint64_t round, Clock::time_point& last_alert,
                  Alert&& alert) {
    if (Clock::now() - last_alert > std::chrono::seconds(5)) {
      alert();
      last_alert = Clock::now();
    }
    settle(delivery, Settlement::Action::extend);
    return !wait_unless_stopping(hold_delay(round));
  }

  // What the inbox knows of `id` before its handler would run; `error` says why it could not
  // answer (InboxAnswer::unavailable).
  InboxAnswer inbox_answer(const std::string& id, std::string& error) {
    if (!inbox_) return InboxAnswer::none;
    // Its twin was handled moments ago here and is waiting for its inbox write.
    if (settling(id)) return InboxAnswer::handled;
    auto cached = looked_up(id);
    auto seen = cached ? std::move(*cached) : inbox_->seen(id);
    if (!seen) {
      error = seen.error().describe();
      return InboxAnswer::unavailable;
    }
    return *seen ? InboxAnswer::handled : InboxAnswer::new_event;
  }

  template <class Fields>
  Settled carry_out(broker::Delivery& delivery, const schemas::Metadata& meta,
                    const Settlement& settlement, const Fields& fields, Context* context) {
    using Action = Settlement::Action;
    switch (settlement.action) {
      case Action::ack:
        if (!context) {
          if (metrics_) metrics_->inbox_hit(binding_.role);
          log::write(level_enum::debug, "already handled; acking duplicate", fields());
        }
        settle(delivery, Action::ack);
        return Settled::now;
      case Action::publish:
        if (inbox_) start_settling(meta.id);
        start_confirming();
        publish_follow_ups(Pending{.delivery = std::move(delivery),
                                   .writes = context->take_writes(),
                                   .follow_ups = context->take_follow_ups()});
        return Settled::later;
      case Action::redeliver:
        if (settlement.handler_failed) {
          if (inbox_) inbox_->note_failure(meta.id, schemas::now_rfc3339());
          log::write(level_enum::warn, "handler failed; redelivering",
                     merged(fields(), {{"error_class", settlement.error_class},
                                       {"error", settlement.reason},
                                       {"delay_ms", settlement.delay.count()}}));
          if (metrics_) metrics_->retried(binding_.role, binding_.subject);
        } else if (context) {
          log::write(level_enum::debug, settlement.reason,
                     merged(fields(), {{"delay_ms", settlement.delay.count()}}));
        }
        settle(delivery, Action::redeliver, settlement.delay);
        return Settled::now;
      case Action::extend:
      case Action::hold:  // process() holds; anything else leaves it to the broker
        // Left unsettled: the broker redelivers after the ack wait.
        settle(delivery, Action::extend);
        return Settled::now;
      case Action::dead_letter:
        dead_letter(delivery, &meta, settlement.error_class, settlement.reason);
        return Settled::now;
    }
    return Settled::now;  // unreachable: every Action returns above
  }

  // Settles `delivery` as `action` says. A settle the broker refused is logged and counted,
  // never dropped silently; the delivery then comes back after its ack wait (at least once).
  void settle(broker::Delivery& delivery, Settlement::Action action,
              std::chrono::milliseconds delay = {}) {
    using Action = Settlement::Action;
    Status done;
    const char* what = "ack";
    switch (action) {
      case Action::ack:
      case Action::publish:
        done = delivery.ack();
        break;
      case Action::redeliver:
        what = "redeliver";
        done = delivery.retry_after(delay);
        break;
      case Action::extend:
      case Action::hold:
        what = "in-progress";
        done = delivery.in_progress();
        break;
      case Action::dead_letter:
        what = "terminate";
        done = delivery.terminate();
        break;
    }
    if (done) return;
    if (metrics_) metrics_->settle_failed(binding_.role, what);
    log::write(level_enum::warn, "settle failed; the broker redelivers after the ack wait",
               {{"event_id", std::string(delivery.header(schemas::header::id).value_or(""))},
                {"settle", what},
                {"role", binding_.role},
                {"error", done.error().describe()}});
  }

  // Success, stage 1: the handler's state writes are stored (store_writes), then its follow-ups
  // are published; the delivery waits for their confirmation.
  void publish_follow_ups(Pending pending) {
    if (!pending.writes.empty()) return store_writes(std::move(pending));
    pending.stage = Pending::Stage::follow_ups;
    confirmations_->await(std::move(pending), [&](const Pending& started, const auto& expect) {
      for (const auto& message : started.follow_ups) {
        const Confirmations::Ticket ticket = expect();
        auto sent =
            transport_.publish_async(message, [ticket](const Result<broker::PublishAck>& ack) {
              ticket(ack ? Status{} : Status{fail(ack.error())});
            });
        if (!sent) ticket(sent);
      }
      send_unless_busy();  // the next hop waits on them
    });
  }

  // On the confirmations thread: a stage of `pending` ended with `result`.
  void next_stage(Pending& pending, const Status& result) {
    switch (pending.stage) {
      case Pending::Stage::writes:
        return writes_stored(pending, result);
      case Pending::Stage::follow_ups:
        return follow_ups_published(pending, result);
      case Pending::Stage::held:
        ++pending.round;
        return publish_follow_ups(std::move(pending));
      case Pending::Stage::inbox:
        return remembered(pending.delivery, result);
    }
  }

  // The state writes go first: nothing decided on a state is published before the state is
  // stored. Each write's handler hears its result before the stage ends (state_write.hpp).
  void store_writes(Pending pending) {
    pending.stage = Pending::Stage::writes;
    auto writes = std::move(pending.writes);
    pending.writes.clear();
    confirmations_->await(std::move(pending), [&](const Pending&, const auto& expect) {
      for (auto& write : writes) {
        const Confirmations::Ticket ticket = expect();
        auto started = write.start([ticket](const Result<std::uint64_t>& stored) {
          ticket(stored ? Status{} : Status{fail(stored.error())});
        });
        if (!started) ticket(started);
      }
      send_unless_busy();  // the follow-ups wait on them
    });
  }

  // A refused or failed state write: what the handler decided rests on a state the store does
  // not hold, so its follow-ups are dropped and the delivery is handled again on its lane,
  // without spending an attempt (the handler reads the store then; an unreachable store is held
  // there like any other outage).
  void writes_stored(Pending& pending, const Status& stored) {
    if (stored) return publish_follow_ups(std::move(pending));
    if (metrics_) metrics_->retried(binding_.role, binding_.subject);
    if (stored.error().code == Errc::conflict) {
      log::write(level_enum::debug, "state write not stored; handling the message again",
                 settle_fields(pending.delivery, stored));
    } else {
      write_alike(level_enum::warn, "state write not stored; handling the message again",
                  settle_fields(pending.delivery, stored));
    }
    if (inbox_) stop_settling(pending.delivery);
    back_to_lane();
    const std::string key(lane_key(pending.delivery));
    lanes_->requeue(std::move(pending.delivery), key);
  }

  void follow_ups_published(Pending& pending, const Status& published) {
    broker::Delivery& delivery = pending.delivery;
    if (!published) {
      if (metrics_) metrics_->publish_error(binding_.role);
      if (published.error().code != Errc::invalid_argument && !stopping()) {
        hold_follow_ups(pending, published);
        return;
      }
      // Follow-up ids are deterministic, so the retry's re-publish is deduplicated.
      log::write(level_enum::warn, "follow-up publish failed; redelivering",
                 settle_fields(delivery, published));
      settle(delivery, Settlement::Action::redeliver, backoff(delivery));
      if (inbox_) stop_settling(delivery);
      confirmed();
    } else if (inbox_) {
      remember(std::move(delivery));
    } else {
      settle(delivery, Settlement::Action::ack);
      confirmed();
    }
  }

  // The broker did not take the follow-ups (an outage, a leader election, a full stream). That
  // is not the handler's failure, so it costs the message no attempt: it is held, in progress,
  // and the follow-ups are published again after a backoff until the broker answers (their ids
  // are deterministic, so copies the broker already stored are dropped as duplicates).
  void hold_follow_ups(Pending& pending, const Status& published) {
    if (pending.round == 1 || pending.round % 10 == 0) {
      auto fields = settle_fields(pending.delivery, published);
      fields["round"] = pending.round;
      write_alike(level_enum::warn, "follow-up publish failed; holding the message",
                  std::move(fields));
    }
    settle(pending.delivery, Settlement::Action::extend);
    const auto delay = hold_delay(pending.round);
    pending.stage = Pending::Stage::held;
    confirmations_->after(std::move(pending), delay);
  }

  bool stopping() {
    std::lock_guard lock(mutex_);
    return stopping_;
  }

  // Success, stage 2: only after the follow-ups are stored is the event marked handled — a
  // redelivery that finds it in the inbox must not skip follow-ups that were never stored.
  void remember(broker::Delivery delivery) {
    confirmations_->await(Pending{.delivery = std::move(delivery), .stage = Pending::Stage::inbox},
                          [&](const Pending& started, const auto& expect) {
                            inbox_->remember_async(
                                started.delivery.header(schemas::header::id).value_or(""),
                                [ticket = expect()](const Result<std::uint64_t>& revision) {
                                  ticket(revision ? Status{} : Status{fail(revision.error())});
                                });
                          });
  }
  void remembered(broker::Delivery& delivery, const Status& remembered) {
    if (!remembered) {
      log::write(level_enum::warn, "inbox write failed; a redelivery would run the handler again",
                 settle_fields(delivery, remembered));
    }
    if (delivery.attempt() > 1) {
      inbox_->forget_failure(delivery.header(schemas::header::id).value_or(""));
    }
    settle(delivery, Settlement::Action::ack);
    stop_settling(delivery);
    confirmed();
  }

  // The inbox answers for a fetched batch, read in one lookup before the batch goes to the
  // lanes; process() takes each event's answer (or asks the inbox itself when it has none).
  //
  // An answer is a snapshot: "not seen" stops being true once this process stores the event's
  // entry. A twin of an event (its redelivery, or a duplicate publish) looked up while the event
  // was being handled could otherwise run the handler again after the entry was written and the
  // event left settling_. So when an event leaves settling_ (stop_settling), answers for its id
  // are dropped, and a lookup running meanwhile keeps none for it: its twin asks the inbox again.
  void look_up(const std::vector<broker::Delivery>& batch) {
    std::vector<std::string_view> ids;
    ids.reserve(batch.size());
    for (const auto& delivery : batch) {
      ids.push_back(delivery.header(schemas::header::id).value_or(std::string_view{}));
    }
    {
      std::lock_guard lock(looked_up_mutex_);
      lookup_running_ = true;
    }
    auto seen = inbox_->seen_many(ids);
    std::lock_guard lock(looked_up_mutex_);
    for (std::size_t i = 0; i < ids.size() && i < seen.size(); ++i) {
      if (ids[i].empty() || !seen[i]) continue;
      std::string id(ids[i]);
      if (settled_meanwhile_.contains(id)) continue;
      looked_up_.insert_or_assign(std::move(id), *seen[i]);
    }
    lookup_running_ = false;
    settled_meanwhile_.clear();
  }
  std::optional<Result<bool>> looked_up(const std::string& id) {
    std::lock_guard lock(looked_up_mutex_);
    auto it = looked_up_.find(id);
    if (it == looked_up_.end()) return std::nullopt;
    const bool seen = it->second;
    looked_up_.erase(it);
    return Result<bool>(seen);
  }
  // Answers for `id` taken before now may predate its inbox entry (see look_up).
  void forget_answers(const std::string& id) {
    std::lock_guard lock(looked_up_mutex_);
    looked_up_.erase(id);
    if (lookup_running_) settled_meanwhile_.insert(id);
  }

  // Ids handled successfully whose inbox entry is not written yet: a twin arriving meanwhile
  // (the same event in two stream messages) must not run the handler again.
  bool settling(const std::string& id) {
    std::lock_guard lock(settling_mutex_);
    return settling_.contains(id);
  }
  void start_settling(const std::string& id) {
    std::lock_guard lock(settling_mutex_);
    settling_.insert(id);
  }
  void stop_settling(const broker::Delivery& delivery) {
    const std::string id(delivery.header(schemas::header::id).value_or(""));
    forget_answers(id);
    std::lock_guard lock(settling_mutex_);
    settling_.erase(id);
  }

  nlohmann::json settle_fields(const broker::Delivery& delivery, const Status& status) const {
    return {{"event_id", delivery.header(schemas::header::id).value_or("")},
            {"subject", std::string(delivery.subject())},
            {"attempt", delivery.attempt()},
            {"role", binding_.role},
            {"error", status ? std::string() : status.error().describe()}};
  }

  // Moves a message that failed for good to the dead-letter stream. It is settled (terminated)
  // only once its copy is stored; until then it is held here, unsettled and kept in progress,
  // and the publish retried: settling it unstored, or handing it back to the broker, could lose
  // the event or the reason it failed. When the worker stops first, it is left unsettled and
  // the broker redelivers it (no MaxDeliver cap: it is never dropped).
  void dead_letter(broker::Delivery& delivery, const schemas::Metadata* meta,
                   const std::string& error_class, const std::string& message) {
    Failure failure{.error_class = error_class,
                    .message = message,
                    .role = binding_.role,
                    .worker = config_.worker_id};
    if (inbox_ && meta) failure.first_failed_at = inbox_->first_failure(meta->id);
    nlohmann::json fields =
        meta ? log::event_fields(*meta, delivery.subject(), delivery.attempt(), binding_.role)
             : nlohmann::json{{"subject", std::string(delivery.subject())},
                              {"attempt", delivery.attempt()},
                              {"role", binding_.role}};
    fields["error_class"] = error_class;
    fields["error"] = message;
    fields["sequence"] = delivery.sequence();
    auto last_alert = Clock::time_point{};
    for (std::uint64_t round = 1;; ++round) {
      auto stored = store_dead_letter(delivery, failure);
      if (stored) {
        if (*stored != Trim::none)
          fields["trimmed"] = *stored == Trim::headers ? "headers" : "body";
        log::write(level_enum::err, "dead-lettered", fields);
        if (metrics_) metrics_->dead_lettered(binding_.role, binding_.subject, error_class);
        settle(delivery, Settlement::Action::dead_letter);
        if (inbox_ && meta) inbox_->forget_failure(meta->id);
        return;
      }
      if (metrics_) metrics_->dead_letter_failed(binding_.role);
      const bool held = hold_round(delivery, round, last_alert, [&] {
        fields["dlq_error"] = stored.error().describe();
        log::write(level_enum::err, "dead-letter publish failed; holding the message", fields);
      });
      if (!held) {
        log::write(level_enum::warn,
                   "stopping: a message waiting for its dead-letter copy is left for redelivery",
                   fields);
        return;
      }
    }
  }

  // Publishes the dead-letter copy, repairing what the worker can: a missing dead-letter stream
  // (deleted while running) is created again, and a copy too large for the broker is trimmed
  // (failure headers first, then the body). Returns how much was trimmed.
  Result<Trim> store_dead_letter(const broker::Delivery& delivery, const Failure& failure) {
    const auto publish = [&](Trim trim) {
      return transport_.publish(dead_letter_message(config_.dead_letter, delivery, failure, trim),
                                config_.dead_letter.publish_timeout);
    };
    Error error;
    for (const Trim trim : {Trim::none, Trim::headers, Trim::body}) {
      auto published = publish(trim);
      if (!published && (published.error().code == Errc::unavailable ||
                         published.error().code == Errc::not_found)) {
        // "No responders": nothing stores the subject. Create the stream again, and retry once.
        if (transport_.ensure_stream(config_.dead_letter.stream_config()))
          published = publish(trim);
      }
      if (published) return trim;
      error = published.error();
      // Only a copy the broker cannot take as it is gets smaller; any other failure is held.
      if (error.code != Errc::invalid_argument) break;
    }
    return fail(std::move(error));
  }

  // How long a held message waits before its next try: the retry backoff, short enough that its
  // in-progress signal keeps the broker from redelivering it meanwhile.
  std::chrono::milliseconds hold_delay(std::uint64_t round) const {
    const auto ceiling = std::max(binding_.ack_wait / 2, std::chrono::milliseconds(1));
    return std::clamp(binding_.retry.backoff_ceiling(round), std::chrono::milliseconds(1), ceiling);
  }

  // Waits `delay`; true (at once) if the worker is stopping.
  bool wait_unless_stopping(std::chrono::milliseconds delay) {
    std::unique_lock lock(mutex_);
    return room_.wait_for(lock, delay, [&] { return stopping_; });
  }

  broker::Transport& transport_;
  const WorkerConfig config_;  // a copy: a runner kept alive past its worker must not dangle
  Binding binding_;
  Handler handler_;
  std::unique_ptr<broker::Subscription> subscription_;
  std::optional<Inbox> inbox_;
  std::shared_ptr<Metrics> metrics_;
  UniformRandom random_;
  log::Throttle alike_;  // write_alike()
  Gate gate_;            // lane threads' way to the transport (see gate.hpp)
  std::unique_ptr<Confirmations> confirmations_;  // before lanes_: lanes hand work to it
  std::unique_ptr<Lanes> lanes_;
  std::thread fetcher_;

  std::mutex looked_up_mutex_;  // the three below
  std::unordered_map<std::string, bool> looked_up_;
  bool lookup_running_ = false;
  std::unordered_set<std::string> settled_meanwhile_;  // left settling_ while a lookup ran

  std::mutex settling_mutex_;
  std::unordered_set<std::string> settling_;

  std::mutex mutex_;
  std::condition_variable room_;
  int in_flight_ = 0;       // fetched, waiting for or in a handler (max_in_flight)
  int settling_count_ = 0;  // handled, waiting for confirmations (max_settling)
  bool stopping_ = false;
};

Worker::Worker(broker::Transport& transport, WorkerConfig config)
    : transport_(transport), config_(std::move(config)) {
  if (config_.worker_id.empty()) config_.worker_id = default_worker_id();
}

Worker::~Worker() {
  for (auto& runner : runners_) {
    if (runner) runner->stop_fetching();
  }
}

Status Worker::add(Binding binding) {
  if (binding.role.empty() || binding.stream.empty() || binding.subject.empty()) {
    return fail(Errc::invalid_argument, "a binding needs a role, a stream and a subject");
  }
  if (!binding.handler)
    return fail(Errc::invalid_argument, "binding " + binding.role + ": no handler");
  if (binding.concurrency < 1 || binding.max_in_flight < 1 || binding.max_settling < 0) {
    return fail(Errc::invalid_argument,
                "concurrency and max_in_flight must be >= 1, max_settling >= 0");
  }
  if (auto ok = binding.retry.validate(); !ok) return ok;
  if (auto ok = transport_.ensure_stream(config_.dead_letter.stream_config()); !ok) return ok;
  const broker::ConsumerConfig consumer{
      .stream = binding.stream,
      .durable = binding.durable_name(),
      .filter_subject = binding.subject,
      .ack_wait = binding.ack_wait,
      // No cap on the broker: a cap would drop a message the worker could not settle (its
      // dead-letter copy not stored, its worker stopped). The runtime counts attempts itself:
      // a delivery past max attempts is dead-lettered as a poison pill.
      .max_deliver = -1,
      .max_ack_pending =
          std::max(binding.max_ack_pending, binding.max_in_flight + binding.max_settling)};
  if (auto ok = transport_.ensure_consumer(consumer); !ok) return ok;
  auto subscription = transport_.subscribe(consumer);
  if (!subscription) return std::unexpected(subscription.error());
  std::optional<Inbox> inbox;
  if (binding.inbox) {
    auto opened = Inbox::open(transport_, config_.inbox, binding.durable_name());
    if (!opened) return std::unexpected(opened.error());
    inbox.emplace(std::move(*opened));
  }
  if (config_.metrics) config_.metrics->bind(binding.role, binding.stream, binding.durable_name());
  runners_.push_back(std::make_unique<Runner>(transport_, config_, std::move(binding),
                                              std::move(*subscription), std::move(inbox)));
  return {};
}

Status Worker::run(std::stop_token stop) {
  if (runners_.empty()) return fail(Errc::invalid_argument, "worker has no bindings");
  for (auto& runner : runners_) runner->start();
  {
    std::mutex mutex;
    std::condition_variable_any stopped;
    std::unique_lock lock(mutex);
    stopped.wait(lock, stop, [] { return false; });
  }
  log::write(level_enum::info, "stopping: draining in-flight work",
             {{"drain_timeout_ms", config_.drain_timeout.count()}});
  for (auto& runner : runners_) runner->stop_fetching();
  const auto deadline = Clock::now() + config_.drain_timeout;
  for (auto& runner : runners_) {
    const bool drained = runner->drain(deadline);
    if (!drained) {
      log::write(level_enum::warn, "drain timeout: unfinished deliveries left for redelivery",
                 {{"unfinished", runner->in_flight()}});
    }
    runner->halt(drained);
    if (!runner->threads_left(drained)) continue;
    // A handler still runs on a thread that references the runner (not the transport): the
    // runner lives until the process exits rather than block shutdown on it.
    abandoned_work_ = true;
    keep_alive(std::shared_ptr<Runner>(runner.release()));
  }
  if (auto flushed = transport_.flush(std::chrono::seconds(5)); !flushed) {
    log::write(level_enum::warn, "flush on stop failed", {{"error", flushed.error().describe()}});
  }
  return {};
}

}  // namespace fleet::runtime
