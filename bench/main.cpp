// fleet-bench: fleet vs a raw cnats loop doing the same broker operations in the same run.
// Rounds alternate raw and fleet (and who goes first) so both see the same machine; the best
// round of each side counts.
// The last line is `ratio: X.XX` (fleet rate / raw rate).
//
//   scripts/bench publish [--count N] [--size B] [--rounds R]
//   scripts/bench consume [--count N] [--size B] [--rounds R]
//   scripts/bench outbox [--count N] [--batches-in-flight K]      (relay from SQLite)
//   scripts/bench outbox-pg [--count N]                           (relay from PostgreSQL)
//   scripts/bench replay [--count N] [--size B] [--rounds R]
//   scripts/bench saga [--count N] [--rounds R] [--rate SAGAS_PER_S]   (3-step saga end to end)
//   scripts/bench --transport kafka pipeline [--kafka HOST:PORT] [--count N] ...
//     (Kafka: pipeline only, against a raw librdkafka loop; without --kafka an in-process
//     mock cluster)
#include <cstdio>

#include <nats/nats.h>
#include <CLI/CLI.hpp>

#include "common.hpp"

using namespace fleet::bench;

int main(int argc, char** argv) {
  // fleet's transport opens cnats without lock spinning (broker/jetstream/connection.cpp); the
  // library setting is process-wide, so both sides of every bench run with it whoever connects
  // first.
  (void)nats_Open(0);
  CLI::App app{"fleet-bench: fleet vs a raw cnats loop, same operations, same run"};
  Options options;
  app.require_subcommand(1);
  app.fallthrough();  // options may follow the subcommand
  app.add_option("--transport", options.transport, "Broker: nats, or kafka (pipeline only)")
      ->envname("FLEET_TRANSPORT")
      ->check(CLI::IsMember({"nats", "kafka"}))
      ->capture_default_str();
  app.add_option("--nats", options.url, "NATS server URL")->envname("FLEET_NATS_URL");
  app.add_option("--kafka", options.kafka,
                 "Kafka bootstrap servers (default: an in-process mock cluster)")
      ->envname("FLEET_KAFKA_BROKERS");
  app.add_option("--count,-n", options.count, "Messages per round")->capture_default_str();
  app.add_option("--size", options.size, "Payload bytes")->capture_default_str();
  app.add_option("--rounds", options.rounds, "Rounds per side (best counts)")
      ->capture_default_str();
  app.add_option("--only", options.only,
                 "Run one side alone, for profiling (no ratio); inbox = pipeline's fleet side "
                 "with the inbox on (a full pipeline run shows it beside the others); saga: "
                 "lean or design = one of its two raw sides")
      ->check(CLI::IsMember({"raw", "fleet", "inbox", "lean", "design"}));
  app.add_option("--lanes", options.lanes, "pipeline: fleet handler lanes")->capture_default_str();
  app.add_option("--batches-in-flight", options.batches_in_flight,
                 "outbox: relay batches of 100 awaiting acks")
      ->capture_default_str();
  app.add_option("--rate", options.rate, "saga: offered sagas/s for a latency run (0 = none)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--pg", options.pg, "outbox-pg: PostgreSQL URL")->envname("FLEET_PG_URL");
  // Kafka has a baseline for the pipeline only.
  auto nats_only = [&](void (*bench)(const Options&)) {
    return [&options, bench] {
      if (options.transport == "kafka") {
        throw CLI::ValidationError("--transport", "kafka: only the pipeline bench supports it");
      }
      if (options.only == "inbox") {
        throw CLI::ValidationError("--only", "inbox: only the pipeline bench has an inbox side");
      }
      if ((options.only == "lean" || options.only == "design") && bench != &bench_saga) {
        throw CLI::ValidationError("--only", options.only + ": only the saga bench has that side");
      }
      bench(options);
    };
  };
  app.add_subcommand("outbox", "Outbox relay draining N committed SQLite rows vs raw publish")
      ->callback(nats_only(&bench_outbox));
  app.add_subcommand("outbox-pg",
                     "Outbox relay draining N committed PostgreSQL rows vs raw publish")
      ->callback(nats_only(&bench_outbox_pg));
  app.add_subcommand("publish", "Async publish with envelope headers and dedup id, all acked")
      ->callback(nats_only(&bench_publish));
  app.add_subcommand("pipeline",
                     "Consume, decode, handle, publish one follow-up, ack after its confirmation")
      ->callback([&] {
        if (options.only == "lean" || options.only == "design") {
          throw CLI::ValidationError("--only",
                                     options.only + ": only the saga bench has that side");
        }
        bench_pipeline(options);
      });
  app.add_subcommand("replay",
                     "Read dead letters, republish each to its original subject, remove it from "
                     "the DLQ once acked")
      ->callback(nats_only(&bench_replay));
  app.add_subcommand("saga",
                     "A 3-step saga end to end: fleet's orchestrator and participant bindings "
                     "vs the same broker operations by hand in cnats (and a leaner loop)")
      ->callback(nats_only(&bench_saga));
  app.add_subcommand("consume", "Pull fetch in batches of 256 and ack each message")
      ->callback(nats_only(&bench_consume));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fleet-bench: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
