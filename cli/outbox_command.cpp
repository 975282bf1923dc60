// fleet outbox relay | status | flagged | requeue: run the outbox relay, and let an operator see
// and re-queue rows the relay gave up on.
#include <signal.h>

#include <cstdio>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "broker_options.hpp"
#include "commands.hpp"
#include "fleet/outbox/relay.hpp"
#include "fleet/outbox/relay_metrics.hpp"
#include "fleet/outbox/store.hpp"
#include "fleet/runtime/metrics_server.hpp"

namespace fleet::cli {
namespace {

struct OutboxOptions {
  BrokerOptions nats;
  std::string db;
  std::size_t batch = 100;
  std::size_t batches_in_flight = 4;
  int max_attempts = 3;
  double retry_delay_s = 1;
  double retention_h = 24;
  double lease_s = 60;
  std::string metrics_addr;           // empty = no /metrics
  bool die_before_mark_sent = false;  // crash tests: SIGKILL itself after the first confirmations
  bool json = false;
  std::int64_t row = 0;
  bool all = false;
};

void add_db_option(CLI::App& command, OutboxOptions& options) {
  command
      .add_option("--db", options.db,
                  "Outbox database: sqlite:PATH or postgres://USER@HOST/DB (libpq URI)")
      ->envname("FLEET_OUTBOX_DB")
      ->required();
}

std::unique_ptr<outbox::OutboxStore> open_or_throw(const std::string& url) {
  auto store = outbox::open_store(url);
  if (!store) {
    throw CommandError("cannot open outbox " + url + ": " + store.error().message,
                       store.error().code == Errc::invalid_argument ? 2 : 1);
  }
  return std::move(*store);
}

// /metrics of the relay (outbox/relay_metrics.hpp). The backlog is counted on a connection of
// its own: a store is used by one thread at a time, and the relay thread has the first.
std::unique_ptr<runtime::MetricsServer> serve_metrics(const OutboxOptions& options,
                                                      const outbox::Relay& relay,
                                                      broker::Transport& transport) {
  if (options.metrics_addr.empty()) return nullptr;
  struct Backlog {
    std::mutex mutex;
    std::unique_ptr<outbox::OutboxStore> store;
  };
  auto backlog = std::make_shared<Backlog>();
  backlog->store = open_or_throw(options.db);
  auto server = runtime::MetricsServer::start(
      options.metrics_addr,
      {.metrics =
           [&relay, backlog] {
             std::optional<outbox::Counts> counts;
             {
               std::lock_guard lock(backlog->mutex);
               auto counted = backlog->store->counts();
               if (counted) {
                 counts = *counted;
               } else {
                 spdlog::warn("outbox relay: counting the backlog for /metrics failed: {}",
                              counted.error().describe());
               }
             }
             return outbox::relay_metrics_text(relay.stats(), counts ? &*counts : nullptr,
                                               outbox::Clock::now());
           },
       .ready =
           [&transport](std::string& reason) {
             const bool connected = transport.connected();
             reason = connected ? "broker connected" : "broker disconnected";
             return connected;
           }});
  if (!server) {
    throw CommandError(server.error().message,
                       server.error().code == Errc::invalid_argument ? 2 : 1);
  }
  return std::move(*server);
}

void run_relay(const OutboxOptions& options) {
  // Signals are taken by sigwait below; block them before any library thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  spdlog::set_default_logger(spdlog::stderr_logger_mt("fleet-outbox"));
  auto store = open_or_throw(options.db);
  auto transport = connect_or_throw(options.nats);
  outbox::RelayConfig config{
      .batch_size = options.batch,
      .batches_in_flight = options.batches_in_flight,
      .lease = std::chrono::milliseconds(static_cast<long>(options.lease_s * 1000)),
      .max_attempts = options.max_attempts,
      .retry_delay = std::chrono::milliseconds(static_cast<long>(options.retry_delay_s * 1000)),
      .retention = std::chrono::milliseconds(static_cast<long>(options.retention_h * 3'600'000)),
  };
  if (options.die_before_mark_sent) {
    config.before_mark_sent = [](auto) { ::raise(SIGKILL); };
  }
  outbox::Relay relay(*store, *transport, config);
  auto metrics_server = serve_metrics(options, relay, *transport);
  spdlog::info("outbox relay: started on {} to {}; metrics {}", options.db,
               broker::describe(options.nats.connection),
               metrics_server ? metrics_server->address() : "off");
  Status result;
  std::thread worker([&] { result = relay.run(); });
  int received = 0;
  sigwait(&signals, &received);
  spdlog::info("outbox relay: signal {} received, finishing in-flight batches", received);
  relay.stop();
  worker.join();
  const auto stats = relay.stats();
  spdlog::info("outbox relay: stopped; published {} ({} duplicates), flagged {}, deleted {}",
               stats.published, stats.duplicates, stats.flagged, stats.deleted);
  if (!result) throw CommandError(result.error().describe());
}

void show_status(const OutboxOptions& options) {
  auto store = open_or_throw(options.db);
  auto counts = store->counts();
  if (!counts) throw CommandError(counts.error().describe());
  if (options.json) {
    std::cout << nlohmann::json{{"pending", counts->pending},
                                {"flagged", counts->flagged},
                                {"sent", counts->sent}}
                     .dump()
              << "\n";
    return;
  }
  std::printf("pending %llu\nflagged %llu\nsent    %llu\n",
              static_cast<unsigned long long>(counts->pending),
              static_cast<unsigned long long>(counts->flagged),
              static_cast<unsigned long long>(counts->sent));
}

void show_flagged(const OutboxOptions& options) {
  auto store = open_or_throw(options.db);
  auto rows = store->flagged(1'000);
  if (!rows) throw CommandError(rows.error().describe());
  if (options.json) {
    auto list = nlohmann::json::array();
    for (const auto& r : *rows) {
      list.push_back({{"row", r.row},
                      {"event_id", r.event_id},
                      {"subject", r.subject},
                      {"attempts", r.attempts},
                      {"last_error", r.last_error}});
    }
    std::cout << list.dump() << "\n";
    return;
  }
  if (rows->empty()) {
    std::cout << "no flagged rows\n";
    return;
  }
  std::printf("%-10s %-32s %-32s %8s  %s\n", "ROW", "EVENT ID", "SUBJECT", "ATTEMPTS",
              "LAST ERROR");
  for (const auto& r : *rows) {
    std::printf("%-10lld %-32s %-32s %8d  %s\n", static_cast<long long>(r.row), r.event_id.c_str(),
                r.subject.c_str(), r.attempts, r.last_error.c_str());
  }
}

void requeue(const OutboxOptions& options) {
  if (options.row == 0 && !options.all) throw CommandError("give --row N or --all", 2);
  auto store = open_or_throw(options.db);
  auto count = store->requeue(options.all ? 0 : options.row);
  if (!count) throw CommandError(count.error().describe());
  if (options.json) {
    std::cout << nlohmann::json{{"requeued", *count}}.dump() << "\n";
  } else {
    std::cout << "requeued " << *count << "\n";
  }
}

}  // namespace

void add_outbox_command(CLI::App& app) {
  auto options = std::make_shared<OutboxOptions>();
  auto* outbox = app.add_subcommand("outbox", "Transactional outbox: relay, status, flagged rows");
  outbox->require_subcommand(1);

  auto* relay = outbox->add_subcommand(
      "relay", "Publish committed outbox rows to the broker until SIGTERM / SIGINT");
  add_db_option(*relay, *options);
  add_broker_options(*relay, options->nats);
  relay->add_option("--batch", options->batch, "Rows per batch")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  relay
      ->add_option("--batches-in-flight", options->batches_in_flight,
                   "Batches published before the oldest must be confirmed")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  relay
      ->add_option("--lease", options->lease_s,
                   "Seconds other relays skip a claimed row (a crashed relay's rows come back "
                   "after it)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  relay
      ->add_option("--max-attempts", options->max_attempts,
                   "Refusals by the broker before a row is flagged")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  relay->add_option("--retry-delay", options->retry_delay_s, "Seconds before a refused row retries")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  relay->add_option("--retention-hours", options->retention_h, "Keep sent rows this long")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  relay
      ->add_option("--metrics-addr", options->metrics_addr,
                   "Serve /metrics, /healthz, /readyz on host:port (port 0 = any; default off)")
      ->envname("FLEET_METRICS_ADDR");
  relay->add_flag("--die-before-mark-sent", options->die_before_mark_sent)->group("");
  relay->callback([options] { run_relay(*options); });

  auto* status = outbox->add_subcommand("status", "Count pending, flagged and sent rows");
  add_db_option(*status, *options);
  status->add_flag("--json", options->json, "One JSON object");
  status->callback([options] { show_status(*options); });

  auto* flagged =
      outbox->add_subcommand("flagged", "List rows the relay gave up on, with the last error");
  add_db_option(*flagged, *options);
  flagged->add_flag("--json", options->json, "A JSON array");
  flagged->callback([options] { show_flagged(*options); });

  auto* requeue_command =
      outbox->add_subcommand("requeue", "Put flagged rows back in the queue with zero attempts");
  add_db_option(*requeue_command, *options);
  auto* row = requeue_command->add_option("--row", options->row, "One flagged row");
  requeue_command->add_flag("--all", options->all, "Every flagged row")->excludes(row);
  requeue_command->add_flag("--json", options->json, "One JSON object: {\"requeued\": N}");
  requeue_command->callback([options] { requeue(*options); });
}

}  // namespace fleet::cli
