// The worker's metrics as a Prometheus scraper reads them: every sample line well formed, each
// family typed before its samples, histograms cumulative, label values escaped.
#include <doctest/doctest.h>

#include <map>
#include <regex>
#include <sstream>
#include <string>

#include "fleet/runtime/metrics.hpp"

namespace {

// name{labels} -> value, for every sample; fails the test on a malformed line.
std::map<std::string, double> parse(const std::string& text) {
  static const std::regex sample(
      R"re(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? (\S+)$)re");
  static const std::regex type(R"(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram)$)");
  std::map<std::string, double> values;
  std::map<std::string, std::string> types;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    std::smatch m;
    if (line.starts_with("# HELP ")) continue;
    if (std::regex_match(line, m, type)) {
      types[m[1]] = m[2];
      continue;
    }
    REQUIRE_MESSAGE(std::regex_match(line, m, sample), line);
    const std::string name = m[1];
    const bool typed =
        types.contains(name) || std::any_of(types.begin(), types.end(), [&](const auto& t) {
          return t.second == "histogram" && name.starts_with(t.first + "_");
        });
    CHECK_MESSAGE(typed, "no # TYPE before " << line);
    values[line.substr(0, line.rfind(' '))] = std::stod(m[5]);
  }
  return values;
}

}  // namespace

TEST_CASE("worker metrics render as valid Prometheus text with the counted values") {
  fleet::runtime::Metrics metrics;
  metrics.handled("payment", "payment.>", 0.003);
  metrics.handled("payment", "payment.>", 0.2);
  metrics.handled("payment", "payment.>", 30);  // beyond the last bucket: only in +Inf
  metrics.failed("payment", "payment.>", "retryable");
  metrics.retried("payment", "payment.>");
  metrics.dead_lettered("payment", "payment.>", "poison");
  metrics.inbox_hit("payment");
  metrics.in_flight("payment", 5);
  metrics.in_flight("payment", -2);
  metrics.failed("odd", "a\"b\\c", "x");

  const auto values = parse(metrics.render());
  CHECK(values.at(R"(fleet_messages_handled_total{role="payment",subject="payment.>"})") == 3);
  CHECK(
      values.at(
          R"(fleet_messages_failed_total{role="payment",subject="payment.>",error_class="retryable"})") ==
      1);
  CHECK(
      values.at(
          R"(fleet_messages_dead_lettered_total{role="payment",subject="payment.>",error_class="poison"})") ==
      1);
  CHECK(values.at(R"(fleet_inbox_hits_total{role="payment"})") == 1);
  CHECK(values.at(R"(fleet_in_flight{role="payment"})") == 3);
  CHECK(values.contains(
      R"(fleet_messages_failed_total{role="odd",subject="a\"b\\c",error_class="x"})"));

  // Cumulative buckets: 0.003 s falls in le=0.005, 0.2 s in le=0.25, 30 s only in +Inf.
  CHECK(values.at(R"(fleet_handler_duration_seconds_bucket{role="payment",le="0.0025"})") == 0);
  CHECK(values.at(R"(fleet_handler_duration_seconds_bucket{role="payment",le="0.005"})") == 1);
  CHECK(values.at(R"(fleet_handler_duration_seconds_bucket{role="payment",le="0.25"})") == 2);
  CHECK(values.at(R"(fleet_handler_duration_seconds_bucket{role="payment",le="10"})") == 2);
  CHECK(values.at(R"(fleet_handler_duration_seconds_bucket{role="payment",le="+Inf"})") == 3);
  CHECK(values.at(R"(fleet_handler_duration_seconds_count{role="payment"})") == 3);
  CHECK(values.at(R"(fleet_handler_duration_seconds_sum{role="payment"})") ==
        doctest::Approx(30.203));
}

TEST_CASE("saga metrics count starts, ends by final status and the active sagas") {
  fleet::runtime::Metrics metrics;
  // Announced before the first saga, so rules and dashboards can name them.
  const std::string fresh = metrics.render();
  CHECK(fresh.find("# TYPE fleet_sagas_started_total counter") != std::string::npos);
  CHECK(fresh.find("# TYPE fleet_sagas_ended_total counter") != std::string::npos);
  CHECK(fresh.find("# TYPE fleet_sagas_active gauge") != std::string::npos);

  for (int i = 0; i < 3; ++i) metrics.saga_started("orders", "order_fulfilment");
  metrics.saga_ended("orders", "order_fulfilment", "completed");
  metrics.saga_ended("orders", "order_fulfilment", "completed");
  metrics.saga_ended("orders", "order_fulfilment", "failed");
  metrics.sagas_active("orders", "order_fulfilment", 0);

  const auto values = parse(metrics.render());
  CHECK(values.at(R"(fleet_sagas_started_total{role="orders",saga="order_fulfilment"})") == 3);
  CHECK(
      values.at(
          R"(fleet_sagas_ended_total{role="orders",saga="order_fulfilment",status="completed"})") ==
      2);
  CHECK(values.at(
            R"(fleet_sagas_ended_total{role="orders",saga="order_fulfilment",status="failed"})") ==
        1);
  CHECK(values.at(R"(fleet_sagas_active{role="orders",saga="order_fulfilment"})") == 0);
}
