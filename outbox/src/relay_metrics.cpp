#include "fleet/outbox/relay_metrics.hpp"

#include <algorithm>

#include "fleet/prometheus_text.hpp"

namespace fleet::outbox {
namespace {

using prometheus::family;
using prometheus::number;

void sample(std::string& out, const char* name, const char* type, const char* help,
            const std::string& value) {
  family(out, name, type, help);
  out += std::string(name) + " " + value + "\n";
}

}  // namespace

std::string relay_metrics_text(const RelayStats& stats, const Counts* backlog, TimePoint now) {
  std::string out;
  sample(out, "fleet_outbox_relayed_total", "counter",
         "Outbox rows the broker confirmed and the relay marked sent.",
         std::to_string(stats.published));
  sample(out, "fleet_outbox_relayed_duplicates_total", "counter",
         "Of the relayed rows, those the broker already had (republished after a crash).",
         std::to_string(stats.duplicates));
  sample(out, "fleet_outbox_publish_failures_total", "counter",
         "Outbox publishes that failed (refused, unanswered or broker away); the rows retry.",
         std::to_string(stats.failed));
  sample(out, "fleet_outbox_flagged_total", "counter",
         "Outbox rows this relay gave up on after max attempts; they wait for an operator.",
         std::to_string(stats.flagged));

  family(out, "fleet_outbox_relay_lag_seconds", "histogram",
         "Time from a row's append to the broker's confirmation of its event.");
  std::uint64_t cumulative = 0;
  const auto& bounds = RelayLag::buckets();
  for (std::size_t i = 0; i < bounds.size(); ++i) {
    cumulative += i < stats.lag.counts.size() ? stats.lag.counts[i] : 0;
    out += "fleet_outbox_relay_lag_seconds_bucket{le=\"" + number(bounds[i]) + "\"} " +
           std::to_string(cumulative) + "\n";
  }
  out += "fleet_outbox_relay_lag_seconds_bucket{le=\"+Inf\"} " + std::to_string(stats.lag.count) +
         "\n";
  out += "fleet_outbox_relay_lag_seconds_sum " + number(stats.lag.sum_seconds) + "\n";
  out += "fleet_outbox_relay_lag_seconds_count " + std::to_string(stats.lag.count) + "\n";

  if (backlog == nullptr) return out;
  sample(out, "fleet_outbox_pending_rows", "gauge",
         "Outbox rows not yet relayed (neither sent nor flagged).",
         std::to_string(backlog->pending));
  sample(out, "fleet_outbox_flagged_rows", "gauge",
         "Outbox rows flagged after max attempts, waiting for `fleet outbox requeue`.",
         std::to_string(backlog->flagged));
  double age = 0;
  if (backlog->oldest_pending) {
    age = std::max(0.0, std::chrono::duration<double>(now - *backlog->oldest_pending).count());
  }
  sample(out, "fleet_outbox_oldest_pending_age_seconds", "gauge",
         "Age of the oldest row not yet relayed; 0 when none waits.", number(age));
  return out;
}

}  // namespace fleet::outbox
