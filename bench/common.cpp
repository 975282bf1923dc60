#include "common.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <stdexcept>

#include "fleet/broker/jetstream.hpp"
#include "fleet/broker/kafka.hpp"
#include "fleet/schemas/envelope.hpp"

namespace fleet::bench {

using Clock = std::chrono::steady_clock;

Workload make_workload(const Options& options) {
  return {std::string(options.size, 'x'),
          fleet::schemas::to_headers(fleet::schemas::new_metadata("bench.Payload"))};
}

double timed(std::uint64_t count, const std::function<void()>& body) {
  const auto start = Clock::now();
  body();
  return count / std::chrono::duration<double>(Clock::now() - start).count();
}

std::unique_ptr<fleet::broker::Transport> connect(const Options& options) {
  if (options.transport == "kafka") {
    fleet::broker::kafka::Config config{.brokers = options.kafka, .name = "fleet-bench"};
    if (!options.kafka_state.empty()) config.state_url = options.kafka_state;
    auto transport = fleet::broker::kafka::connect(config);
    if (!transport) throw std::runtime_error("connect: " + transport.error().describe());
    return std::move(*transport);
  }
  auto transport = fleet::broker::jetstream::connect(
      {.url = options.url, .name = "fleet-bench", .max_in_flight = options.max_in_flight});
  if (!transport) throw std::runtime_error("connect: " + transport.error().describe());
  return std::move(*transport);
}

void ensure_stream(fleet::broker::Transport& transport, const std::string& name,
                   const std::string& subject) {
  if (auto ok = transport.ensure_stream({.name = name, .subjects = {subject}}); !ok) {
    throw std::runtime_error(ok.error().describe());
  }
}

void report(const char* what, const Options& options, double raw, double fleet) {
  const bool kafka = options.transport == "kafka";
  std::printf("%s raw %s: %10.0f msg/s\n", what, kafka ? "librdkafka" : "cnats", raw);
  std::printf("%s fleet:     %s%10.0f msg/s\n", what, kafka ? "     " : "", fleet);
  std::printf("ratio: %.2f\n", fleet / raw);
}

void compare(const char* what, const Options& options, const std::function<double(int)>& raw,
             const std::function<double(int)>& fleet) {
  double best_raw = 0, best_fleet = 0;
  if (!options.only.empty()) {
    double best = 0;
    for (int round = 1; round <= options.rounds; ++round) {
      best = std::max(best, options.only == "raw" ? raw(round) : fleet(round));
    }
    std::printf("%s %s alone: %10.0f msg/s\n", what, options.only.c_str(), best);
    return;
  }
  for (int round = 1; round <= options.rounds; ++round) {
    double r = 0, f = 0;
    if (round % 2 == 1) {
      r = raw(round);
      f = fleet(round);
    } else {
      f = fleet(round);
      r = raw(round);
    }
    std::printf("round %d: raw %.0f/s, fleet %.0f/s\n", round, r, f);
    std::fflush(stdout);
    best_raw = std::max(best_raw, r);
    best_fleet = std::max(best_fleet, f);
  }
  report(what, options, best_raw, best_fleet);
}

}  // namespace fleet::bench
