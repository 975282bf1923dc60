// The circuit breaker on a binding: a CircuitBreaker behind a mutex, shared by the middleware
// (lane threads) and the admission function (fetch thread). See flow_control.hpp for what holding
// a message costs.
#include <condition_variable>
#include <mutex>

#include "fleet/runtime/flow_control.hpp"
#include "fleet/runtime/log.hpp"

namespace fleet::runtime {
namespace {

using Clock = std::chrono::steady_clock;

class Circuit {
 public:
  Circuit(const Binding& binding, const CircuitBreakerConfig& config, CircuitHooks hooks)
      : role_(binding.role),
        binding_(binding.subject),
        probes_per_message_(config.probes_per_message),
        heartbeat_(std::max<std::chrono::milliseconds>(std::chrono::milliseconds(100),
                                                       binding.ack_wait / 3)),
        breaker_(config),
        hooks_(std::move(hooks)) {
    if (hooks_.metrics) hooks_.metrics->circuit_state(role_, binding_, CircuitState::closed);
  }

  // Blocks until this message may run; true when it runs as the half-open probe.
  bool wait_for_turn(Context& context) {
    std::unique_lock lock(mutex_);
    auto last_beat = Clock::now();
    ++waiting_;
    for (;;) {
      const auto now = Clock::now();
      const auto permit = breaker_.try_start(now);
      publish_transitions(now);
      if (permit.granted) {
        --waiting_;
        return permit.probe;
      }
      if (now - last_beat >= heartbeat_) {
        lock.unlock();
        context.heartbeat();  // held, not failed: the ack-wait clock restarts
        lock.lock();
        last_beat = Clock::now();
        continue;
      }
      changed_.wait_until(lock, std::min(breaker_.next_change(), last_beat + heartbeat_));
    }
  }

  // Records the outcome; true when the message is to be held and run again as a later probe
  // (its counted failure left the circuit open).
  bool finish(const Outcome& outcome, bool probe) {
    std::lock_guard lock(mutex_);
    const auto now = Clock::now();
    const Verdict verdict = breaker_.verdict(outcome.succeeded(), outcome.error_class);
    if (outcome.kind == Outcome::Kind::defer || outcome.kind == Outcome::Kind::in_progress) {
      breaker_.record(Verdict::other, probe, now);
    } else {
      breaker_.record(verdict, probe, now);
    }
    publish_transitions(now);
    changed_.notify_all();
    return verdict == Verdict::counted_failure && breaker_.state() != CircuitState::closed;
  }

  std::size_t admission() {
    std::lock_guard lock(mutex_);
    const auto now = Clock::now();
    // Half-open with messages held here: one of them is the probe; fetch nothing more.
    std::size_t allowed = 0;
    if (breaker_.state() == CircuitState::closed || waiting_ == 0) {
      allowed = breaker_.fetch_allowance(now);
    }
    publish_transitions(now);
    if (breaker_.state() != CircuitState::closed && hooks_.report &&
        now - last_report_ >= hooks_.report_every) {
      hooks_.report(breaker_.state(), reason_, since_);
      last_report_ = now;
    }
    return allowed;
  }

  const std::string& role() const { return role_; }
  int probes_per_message() const { return probes_per_message_; }

 private:
  void publish_transitions(Clock::time_point now) {
    for (const auto& t : breaker_.take_transitions()) {
      log::write(t.to == CircuitState::open ? spdlog::level::warn : spdlog::level::info,
                 std::string("circuit ") + std::string(to_string(t.to)),
                 {{"role", role_},
                  {"binding", binding_},
                  {"from", to_string(t.from)},
                  {"to", to_string(t.to)},
                  {"reason", t.reason}});
      if (hooks_.metrics) hooks_.metrics->circuit_state(role_, binding_, t.to);
      reason_ = t.reason;
      since_ = schemas::now_rfc3339();
      if (hooks_.report) hooks_.report(t.to, reason_, since_);
      last_report_ = now;
      changed_.notify_all();
    }
  }

  const std::string role_;
  const std::string binding_;
  const int probes_per_message_;
  const std::chrono::milliseconds heartbeat_;
  std::mutex mutex_;
  std::condition_variable changed_;
  CircuitBreaker breaker_;
  CircuitHooks hooks_;
  int waiting_ = 0;
  Clock::time_point last_report_{};
  std::string reason_;  // of the last transition
  std::string since_;   // when it happened (RFC 3339)
};

}  // namespace

void add_circuit_breaker(Binding& binding, const CircuitBreakerConfig& config, CircuitHooks hooks) {
  if (!config.enabled()) return;
  auto circuit = std::make_shared<Circuit>(binding, config, std::move(hooks));
  Middleware breaker = [circuit](Handler next) -> Handler {
    return [circuit, next = std::move(next)](const schemas::Envelope& envelope, Context& context) {
      for (int failed_probes = 0;;) {
        const bool probe = circuit->wait_for_turn(context);
        Outcome outcome = next(envelope, context);
        if (!circuit->finish(outcome, probe)) return outcome;
        failed_probes += probe ? 1 : 0;
        if (circuit->probes_per_message() > 0 && failed_probes >= circuit->probes_per_message()) {
          return outcome;  // perhaps this message, not the downstream: let another one probe
        }
        context.discard_follow_ups();
        log::write(spdlog::level::info, "circuit open: holding the message for a later probe",
                   {{"event_id", envelope.meta.id},
                    {"role", circuit->role()},
                    {"error_class", outcome.error_class},
                    {"error", outcome.message}});
      }
    };
  };
  binding.middleware.insert(binding.middleware.begin(), std::move(breaker));
  binding.admission =
      all_of(std::move(binding.admission), [circuit] { return circuit->admission(); });
}

}  // namespace fleet::runtime
