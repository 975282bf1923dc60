// The outbox relay's /metrics text: counters from the relay's stats, the lag histogram
// cumulative from append to confirmation, and the backlog gauges only when the database answered.
#include <doctest/doctest.h>

#include <string>

#include "fleet/outbox/relay_metrics.hpp"

namespace ob = fleet::outbox;
using namespace std::chrono_literals;

namespace {

bool has_line(const std::string& text, const std::string& line) {
  return text.starts_with(line + "\n") || text.find("\n" + line + "\n") != std::string::npos;
}

}  // namespace

TEST_CASE("relay metrics count relayed and failed rows and bucket the lag cumulatively") {
  ob::RelayStats stats{.published = 7, .duplicates = 1, .failed = 3, .flagged = 2};
  stats.lag.add(0.003);  // le=0.005
  stats.lag.add(0.2);    // le=0.25
  stats.lag.add(12);     // le=30
  stats.lag.add(900);    // beyond the last bucket: +Inf only
  const auto now = ob::Clock::now();
  const ob::Counts backlog{.pending = 5, .flagged = 2, .sent = 9, .oldest_pending = now - 90s};

  const std::string text = ob::relay_metrics_text(stats, &backlog, now);
  CHECK(has_line(text, "# TYPE fleet_outbox_relayed_total counter"));
  CHECK(has_line(text, "fleet_outbox_relayed_total 7"));
  CHECK(has_line(text, "fleet_outbox_relayed_duplicates_total 1"));
  CHECK(has_line(text, "fleet_outbox_publish_failures_total 3"));
  CHECK(has_line(text, "fleet_outbox_flagged_total 2"));
  CHECK(has_line(text, "# TYPE fleet_outbox_relay_lag_seconds histogram"));
  CHECK(has_line(text, R"(fleet_outbox_relay_lag_seconds_bucket{le="0.01"} 1)"));
  CHECK(has_line(text, R"(fleet_outbox_relay_lag_seconds_bucket{le="0.005"} 1)"));
  CHECK(has_line(text, R"(fleet_outbox_relay_lag_seconds_bucket{le="0.25"} 2)"));
  CHECK(has_line(text, R"(fleet_outbox_relay_lag_seconds_bucket{le="10"} 2)"));
  CHECK(has_line(text, R"(fleet_outbox_relay_lag_seconds_bucket{le="30"} 3)"));
  CHECK(has_line(text, R"(fleet_outbox_relay_lag_seconds_bucket{le="300"} 3)"));
  CHECK(has_line(text, R"(fleet_outbox_relay_lag_seconds_bucket{le="+Inf"} 4)"));
  CHECK(has_line(text, "fleet_outbox_relay_lag_seconds_count 4"));
  CHECK(has_line(text, "fleet_outbox_relay_lag_seconds_sum 912.203"));
  CHECK(has_line(text, "fleet_outbox_pending_rows 5"));
  CHECK(has_line(text, "fleet_outbox_flagged_rows 2"));
  CHECK(has_line(text, "fleet_outbox_oldest_pending_age_seconds 90"));
}

TEST_CASE("relay metrics leave the backlog out while the database does not answer") {
  const std::string text = ob::relay_metrics_text({}, nullptr, ob::Clock::now());
  CHECK(has_line(text, "fleet_outbox_relayed_total 0"));
  CHECK(has_line(text, "fleet_outbox_relay_lag_seconds_count 0"));
  CHECK(text.find("fleet_outbox_pending_rows") == std::string::npos);
  CHECK(text.find("fleet_outbox_oldest_pending_age_seconds") == std::string::npos);
}

TEST_CASE("an empty backlog reports no waiting row as age 0") {
  const ob::Counts backlog{.pending = 0, .flagged = 0, .sent = 4};
  const std::string text = ob::relay_metrics_text({}, &backlog, ob::Clock::now());
  CHECK(has_line(text, "fleet_outbox_pending_rows 0"));
  CHECK(has_line(text, "fleet_outbox_oldest_pending_age_seconds 0"));
}
