// What every fleet-bench scenario shares: options, the workload, timing and reporting.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "fleet/broker/transport.hpp"

namespace fleet::bench {

struct Options {
  std::string transport = "nats";  // "nats" or "kafka" (pipeline only)
  std::string url = "nats://127.0.0.1:4222";
  std::string kafka;        // bootstrap servers; "" = start an in-process mock cluster
  std::string kafka_state;  // Kafka: state store of the inbox (set by the pipeline bench)
  std::uint64_t count = 100'000;
  std::size_t size = 256;
  int rounds = 3;
  int max_in_flight = 4'096;
  int lanes = 8;     // pipeline: fleet handler lanes (Binding::concurrency default)
  std::string only;  // "raw" or "fleet": run one side alone (for profiling); "" = both
  std::size_t batches_in_flight = 4;  // outbox: relay batches awaiting acks
  std::string pg;                     // outbox-pg: PostgreSQL URL
  double rate = 0;                    // saga: offered sagas/s for the latency run; 0 = none
};

struct Workload {
  std::string payload;
  fleet::Headers headers;  // a real envelope's headers, the same on both sides
};

Workload make_workload(const Options& options);
// Events per second of one timed run.
double timed(std::uint64_t count, const std::function<void()>& body);
// The transport options.transport names (JetStream or Kafka).
std::unique_ptr<fleet::broker::Transport> connect(const Options& options);
void ensure_stream(fleet::broker::Transport& transport, const std::string& name,
                   const std::string& subject);
// Prints both rates (the raw side named after options.transport's client library) and the last
// line `ratio: X.XX`.
void report(const char* what, const Options& options, double raw, double fleet);

// Runs `raw` and `fleet` for options.rounds rounds, alternating who goes first so neither side
// always meets a warmer or fuller server; the best round of each side counts.
void compare(const char* what, const Options& options, const std::function<double(int)>& raw,
             const std::function<double(int)>& fleet);

void bench_publish(const Options& options);
void bench_consume(const Options& options);
void bench_pipeline(const Options& options);
void bench_pipeline_kafka(Options options);  // bench_pipeline with --transport kafka
void bench_outbox(const Options& options);
void bench_outbox_pg(const Options& options);
void bench_replay(const Options& options);
void bench_saga(const Options& options);

}  // namespace fleet::bench
