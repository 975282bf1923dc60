#include "fleet/runtime/metrics.hpp"

#include "fleet/prometheus_text.hpp"

namespace fleet::runtime {
namespace {

std::string escape(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

template <class Labels>
std::string label_text(const Labels& labels) {
  if (labels.empty()) return {};
  std::string text = "{";
  for (const auto& [name, value] : labels) {
    if (text.size() > 1) text += ',';
    text += name + "=\"" + escape(value) + "\"";
  }
  return text + "}";
}

using prometheus::family;
using prometheus::number;

template <class Map>
void samples(std::string& out, const char* name, const char* help, const Map& values) {
  family(out, name, "counter", help);
  for (const auto& [labels, value] : values) {
    out += name + label_text(labels) + " " + std::to_string(value) + "\n";
  }
}

}  // namespace

const std::vector<double>& Metrics::buckets() {
  static const std::vector<double> bounds = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                             0.25,  0.5,    1,     2.5,  5,     10};
  return bounds;
}

void Metrics::bind(const std::string& role, const std::string& stream, const std::string& durable) {
  std::lock_guard lock(mutex_);
  durables_.push_back({role, stream, durable});
}

void Metrics::handled(const std::string& role, const std::string& subject, double seconds) {
  std::lock_guard lock(mutex_);
  ++handled_[{{"role", role}, {"subject", subject}}];
  auto& h = durations_[role];
  h.counts.resize(buckets().size());
  for (std::size_t i = 0; i < buckets().size(); ++i) {
    if (seconds <= buckets()[i]) {
      ++h.counts[i];
      break;
    }
  }
  h.sum += seconds;
  ++h.count;
}

void Metrics::failed(const std::string& role, const std::string& subject,
                     const std::string& error_class) {
  std::lock_guard lock(mutex_);
  ++failed_[{{"role", role}, {"subject", subject}, {"error_class", error_class}}];
}

void Metrics::retried(const std::string& role, const std::string& subject) {
  std::lock_guard lock(mutex_);
  ++retried_[{{"role", role}, {"subject", subject}}];
}

void Metrics::dead_lettered(const std::string& role, const std::string& subject,
                            const std::string& error_class) {
  std::lock_guard lock(mutex_);
  ++dead_[{{"role", role}, {"subject", subject}, {"error_class", error_class}}];
}

void Metrics::inbox_hit(const std::string& role) {
  std::lock_guard lock(mutex_);
  ++inbox_hits_[{{"role", role}}];
}

void Metrics::publish_error(const std::string& role) {
  std::lock_guard lock(mutex_);
  ++publish_errors_[{{"role", role}}];
}

void Metrics::dead_letter_failed(const std::string& role) {
  std::lock_guard lock(mutex_);
  ++dead_letter_failures_[{{"role", role}}];
}

void Metrics::held(const std::string& role, const std::string& reason) {
  std::lock_guard lock(mutex_);
  ++held_[{{"role", role}, {"reason", reason}}];
}

void Metrics::lane_replaced(const std::string& role) {
  std::lock_guard lock(mutex_);
  ++lanes_replaced_[{{"role", role}}];
}

void Metrics::settle_failed(const std::string& role, const std::string& settle) {
  std::lock_guard lock(mutex_);
  ++settle_failures_[{{"role", role}, {"settle", settle}}];
}

void Metrics::in_flight(const std::string& role, int delta) {
  std::lock_guard lock(mutex_);
  in_flight_[role] += delta;
}

void Metrics::circuit_state(const std::string& role, const std::string& binding,
                            CircuitState state) {
  std::lock_guard lock(mutex_);
  circuits_[{{"role", role}, {"binding", binding}}] = static_cast<int>(state);
}

void Metrics::saga_started(const std::string& role, const std::string& saga) {
  std::lock_guard lock(mutex_);
  ++sagas_started_[{{"role", role}, {"saga", saga}}];
}

void Metrics::saga_ended(const std::string& role, const std::string& saga,
                         const std::string& status) {
  std::lock_guard lock(mutex_);
  ++sagas_ended_[{{"role", role}, {"saga", saga}, {"status", status}}];
}

void Metrics::sagas_active(const std::string& role, const std::string& saga, std::size_t active) {
  std::lock_guard lock(mutex_);
  sagas_active_[{{"role", role}, {"saga", saga}}] = active;
}

std::string Metrics::render(broker::Transport* transport, const std::string& dlq_stream) const {
  // Ask the broker first, outside the lock: it is a network round trip.
  std::optional<std::vector<broker::StreamInfo>> streams;
  if (transport != nullptr) {
    if (auto listed = transport->streams()) streams = std::move(*listed);
  }
  std::lock_guard lock(mutex_);
  std::string out;
  samples(out, "fleet_messages_handled_total", "Messages whose handler succeeded.", handled_);
  samples(out, "fleet_messages_failed_total", "Handler attempts that failed, by error class.",
          failed_);
  samples(out, "fleet_messages_retried_total", "Messages handed back for redelivery.", retried_);
  samples(out, "fleet_messages_dead_lettered_total", "Messages moved to the dead-letter stream.",
          dead_);
  samples(out, "fleet_inbox_hits_total", "Redelivered events acked without running the handler.",
          inbox_hits_);
  samples(out, "fleet_publish_errors_total", "Follow-up publishes the broker did not confirm.",
          publish_errors_);
  samples(out, "fleet_dead_letter_failures_total",
          "Dead-letter publishes that failed; the message is held unsettled and retried.",
          dead_letter_failures_);
  samples(out, "fleet_messages_held_total",
          "Tries that found a broker or store unreachable; the message was held, no attempt spent.",
          held_);
  samples(out, "fleet_lanes_replaced_total",
          "Lanes replaced because their handler ran far past its timeout.", lanes_replaced_);
  samples(out, "fleet_settle_failures_total",
          "Settles (ack, redeliver, in-progress, terminate) the broker refused.", settle_failures_);

  // Announced by every worker, like the other counters, so rules and dashboards can name them.
  samples(out, "fleet_sagas_started_total", "Sagas whose start an orchestrator applied.",
          sagas_started_);
  samples(out, "fleet_sagas_ended_total",
          "Sagas that ended, by final status (completed, or failed after compensation).",
          sagas_ended_);
  family(out, "fleet_sagas_active", "gauge", "Sagas this orchestrator process holds active.");
  for (const auto& [labels, value] : sagas_active_) {
    out += "fleet_sagas_active" + label_text(labels) + " " + std::to_string(value) + "\n";
  }

  family(out, "fleet_in_flight", "gauge", "Deliveries fetched and not yet settled.");
  for (const auto& [role, value] : in_flight_) {
    out +=
        "fleet_in_flight" + label_text(Labels{{"role", role}}) + " " + std::to_string(value) + "\n";
  }

  // Announced also without a breaker, like the counters, so rules and dashboards can name it.
  family(out, "fleet_circuit_state", "gauge",
         "Circuit breaker per binding: 0 closed, 1 open, 2 half-open.");
  for (const auto& [labels, state] : circuits_) {
    out += "fleet_circuit_state" + label_text(labels) + " " + std::to_string(state) + "\n";
  }

  family(out, "fleet_handler_duration_seconds", "histogram", "Handler time per message.");
  for (const auto& [role, h] : durations_) {
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < buckets().size(); ++i) {
      cumulative += i < h.counts.size() ? h.counts[i] : 0;
      out += "fleet_handler_duration_seconds_bucket" +
             label_text(Labels{{"role", role}, {"le", number(buckets()[i])}}) + " " +
             std::to_string(cumulative) + "\n";
    }
    out += "fleet_handler_duration_seconds_bucket" +
           label_text(Labels{{"role", role}, {"le", "+Inf"}}) + " " + std::to_string(h.count) +
           "\n";
    out += "fleet_handler_duration_seconds_sum" + label_text(Labels{{"role", role}}) + " " +
           number(h.sum) + "\n";
    out += "fleet_handler_duration_seconds_count" + label_text(Labels{{"role", role}}) + " " +
           std::to_string(h.count) + "\n";
  }

  if (!streams) return out;
  family(out, "fleet_consumer_pending", "gauge", "Messages not yet delivered to the durable.");
  std::string ack_pending;
  for (const auto& d : durables_) {
    for (const auto& s : *streams) {
      if (s.name != d.stream) continue;
      for (const auto& c : s.consumers) {
        if (c.name != d.durable) continue;
        const auto labels = label_text(Labels{{"role", d.role}, {"durable", d.durable}});
        out += "fleet_consumer_pending" + labels + " " + std::to_string(c.pending) + "\n";
        ack_pending +=
            "fleet_consumer_ack_pending" + labels + " " + std::to_string(c.ack_pending) + "\n";
      }
    }
  }
  family(out, "fleet_consumer_ack_pending", "gauge", "Messages delivered and not yet acked.");
  out += ack_pending;
  family(out, "fleet_dlq_depth", "gauge", "Messages in the dead-letter stream.");
  std::uint64_t depth = 0;
  for (const auto& s : *streams) {
    if (s.name == dlq_stream) depth = s.messages;
  }
  out += "fleet_dlq_depth " + std::to_string(depth) + "\n";
  return out;
}

}  // namespace fleet::runtime
