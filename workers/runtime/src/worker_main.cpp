#include "fleet/runtime/worker_main.hpp"

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cstdlib>
#include <iostream>
#include <stop_token>
#include <thread>

#include <CLI/CLI.hpp>

#include "fleet/backoff.hpp"
#include "fleet/broker/connect.hpp"
#include "fleet/flags/transport.hpp"
#include "fleet/runtime/flow_control.hpp"
#include "fleet/runtime/log.hpp"
#include "fleet/runtime/metrics_server.hpp"
#include "fleet/runtime/worker.hpp"

namespace fleet::runtime {
namespace {

struct Flags {
  std::string role;
  broker::TransportConfig broker;
  RoleSettings settings;
  std::int64_t backoff_ms = 200;
  std::int64_t max_backoff_ms = 30'000;
  std::int64_t ack_wait_ms = 30'000;
  std::int64_t drain_timeout_ms = 10'000;
  std::int64_t timeout_ms = 0;
  std::string worker_id;
  bool no_inbox = false;
  std::string log_level = "info";
  std::vector<std::string> redact;
  std::string metrics_addr;
  std::int64_t breaker_window_ms = 30'000;
  std::int64_t breaker_cool_down_ms = 5'000;
  std::int64_t breaker_max_cool_down_ms = 60'000;
  std::string rate_limit_scope = "process";
};

// --breaker-* and --rate-limit*: flow control for every binding of the role.
void add_flow_control_flags(CLI::App& app, Flags& flags) {
  auto& breaker = flags.settings.circuit_breaker;
  app.add_option("--breaker-failures", breaker.consecutive_failures,
                 "Circuit breaker: open after this many consecutive failures of the breaker's "
                 "error classes (0 = off)")
      ->envname("FLEET_BREAKER_FAILURES")
      ->check(CLI::Range(0, 1'000'000))
      ->capture_default_str();
  app.add_option("--breaker-failure-rate", breaker.failure_rate,
                 "Circuit breaker: open when this share of outcomes in the window failed with "
                 "its classes, e.g. 0.5 (0 = off)")
      ->envname("FLEET_BREAKER_FAILURE_RATE")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  app.add_option("--breaker-min-outcomes", breaker.min_outcomes,
                 "Circuit breaker: outcomes in the window before the rate counts")
      ->envname("FLEET_BREAKER_MIN_OUTCOMES")
      ->check(CLI::Range(1, 1'000'000))
      ->capture_default_str();
  app.add_option("--breaker-window-ms", flags.breaker_window_ms, "Circuit breaker: rate window")
      ->envname("FLEET_BREAKER_WINDOW_MS")
      ->check(CLI::Range(1, 86'400'000))
      ->capture_default_str();
  app.add_option("--breaker-errors", breaker.error_classes,
                 "Circuit breaker: error classes that count (comma-separated; '*' = all)")
      ->envname("FLEET_BREAKER_ERRORS")
      ->delimiter(',')
      ->default_str("downstream");
  app.add_option("--breaker-cool-down-ms", flags.breaker_cool_down_ms,
                 "Circuit breaker: open this long before a probe; doubles per failed probe")
      ->envname("FLEET_BREAKER_COOL_DOWN_MS")
      ->check(CLI::Range(1, 86'400'000))
      ->capture_default_str();
  app.add_option("--breaker-max-cool-down-ms", flags.breaker_max_cool_down_ms,
                 "Circuit breaker: cap of the cool-down between probes")
      ->envname("FLEET_BREAKER_MAX_COOL_DOWN_MS")
      ->check(CLI::Range(1, 86'400'000))
      ->capture_default_str();
  app.add_option("--breaker-probes-per-message", breaker.probes_per_message,
                 "Circuit breaker: failed probes before a held message is handed back as an "
                 "ordinary failure (0 = hold it while the circuit is open)")
      ->envname("FLEET_BREAKER_PROBES_PER_MESSAGE")
      ->check(CLI::Range(0, 1'000'000))
      ->capture_default_str();
  app.add_option("--rate-limit", flags.settings.rate_limit.per_second,
                 "Handler starts per second (per process, or per role with --rate-limit-scope "
                 "role); excess messages wait (0 = off)")
      ->envname("FLEET_RATE_LIMIT")
      ->check(CLI::Range(0.0, 1e9))
      ->capture_default_str();
  app.add_option("--rate-limit-burst", flags.settings.rate_limit.burst,
                 "Starts allowed at once after a quiet spell (0 = a tenth of a second's worth)")
      ->envname("FLEET_RATE_LIMIT_BURST")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--rate-limit-scope", flags.rate_limit_scope,
                 "process, or role: one limit for all processes of the role (broker KV)")
      ->envname("FLEET_RATE_LIMIT_SCOPE")
      ->check(CLI::IsMember({"process", "role"}))
      ->capture_default_str();
}

// Puts the breaker and the rate limit on every binding; circuits that are not closed are reported
// to the status bucket (best effort: a failed report only loses a `fleet status` line).
Status add_flow_control(broker::Transport& transport, const RoleSettings& settings,
                        const std::string& role, const std::string& worker_id,
                        const std::shared_ptr<Metrics>& metrics, std::vector<Binding>& bindings) {
  std::shared_ptr<RateLimiter> limiter;
  if (settings.rate_limit.per_second > 0) {
    if (settings.rate_limit_per_role) {
      auto bucket = transport.key_value({.name = rate_limits_bucket});
      if (!bucket) return std::unexpected(bucket.error());
      limiter =
          shared_rate_limiter(settings.rate_limit, std::move(*bucket), broker::key_token(role));
    } else {
      limiter = local_rate_limiter(settings.rate_limit);
    }
  }
  std::shared_ptr<broker::KeyValue> circuits;
  if (settings.circuit_breaker.enabled()) {
    auto bucket = transport.key_value({.name = circuits_bucket, .ttl = circuits_bucket_ttl});
    if (!bucket) return std::unexpected(bucket.error());
    circuits = std::move(*bucket);
  }
  for (auto& binding : bindings) {
    if (limiter) add_rate_limit(binding, limiter);
    if (!circuits) continue;
    const std::string key = broker::key_token(binding.role) + "." +
                            broker::key_token(binding.subject) + "." + broker::key_token(worker_id);
    CircuitHooks hooks{
        .metrics = metrics,
        .report = [circuits, key, role = binding.role, subject = binding.subject, worker_id](
                      CircuitState state, const std::string& reason, const std::string& since) {
          const nlohmann::json value = {{"role", role},
                                        {"binding", subject},
                                        {"worker", worker_id},
                                        {"state", to_string(state)},
                                        {"reason", reason},
                                        {"since", since},
                                        {"reported", schemas::now_rfc3339()}};
          (void)circuits->put_async(key, value.dump(), [](const Result<std::uint64_t>&) {});
        }};
    add_circuit_breaker(binding, settings.circuit_breaker, std::move(hooks));
  }
  return {};
}

std::string role_list(const std::vector<Role>& roles) {
  std::string text = "Roles:\n";
  for (const auto& role : roles) text += "  " + role.name + "  " + role.description + "\n";
  return text;
}

// SIGTERM / SIGINT are blocked in every thread and taken by one waiting thread, so handlers
// never run inside a signal handler and the stop is an ordinary std::stop_source request.
std::jthread watch_signals(std::stop_source stop) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return std::jthread([signals, stop]() mutable {
    int signal = 0;
    sigwait(&signals, &signal);
    log::write(spdlog::level::info, "signal received", {{"signal", signal}});
    stop.request_stop();
  });
}

// Start-up on a busy cluster: creating and updating streams and buckets goes through the meta
// leader and races with the other processes starting at once, so a timeout or a "not found"
// (the stream another process is still creating) is retried for up to a minute.
// A second between tries, without growth: the step usually waits for another process's.
template <class Step>
auto retry_start_up(const std::stop_source& stop, const std::string& what, Step step) {
  const Backoff pause{.initial = std::chrono::seconds(1),
                      .multiplier = 1.0,
                      .max = std::chrono::seconds(1),
                      .jitter = Backoff::Jitter::none};
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(1);
  for (std::uint64_t failures = 1;; ++failures) {
    auto result = step();
    if (result || stop.stop_requested() || std::chrono::steady_clock::now() > deadline) {
      return result;
    }
    const Error& error = result.error();
    if (!error.retriable() && error.code != Errc::not_found) return result;
    log::write(spdlog::level::warn, "start-up step failed; retrying",
               {{"step", what}, {"error", error.describe()}});
    std::this_thread::sleep_for(pause.delay(failures));
  }
}

}  // namespace

int worker_main(int argc, char** argv, const std::string& program, const std::vector<Role>& roles) {
  CLI::App app{program + ": runs one worker role against NATS JetStream or Kafka (--transport)"};
  app.footer(role_list(roles));
  Flags flags;
  auto& s = flags.settings;
  app.add_option("--role", flags.role, "Role to run (see Roles below)")
      ->envname("FLEET_ROLE")
      ->required();
  fleet::flags::add_transport_flags(app, flags.broker);
  app.add_option("--concurrency", s.concurrency, "Handler lanes in this process")
      ->envname("FLEET_CONCURRENCY")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  app.add_option("--max-in-flight", s.max_in_flight,
                 "Fetched messages waiting for or in a handler, per process")
      ->envname("FLEET_MAX_IN_FLIGHT")
      ->check(CLI::Range(1, 100'000))
      ->capture_default_str();
  app.add_option("--max-settling", s.max_settling,
                 "Handled messages waiting for the broker's confirmations before their ack, per "
                 "process, beside --max-in-flight (0 = they keep their in-flight place)")
      ->envname("FLEET_MAX_SETTLING")
      ->check(CLI::Range(0, 100'000))
      ->capture_default_str();
  app.add_option("--max-active-sagas", s.max_active_sagas,
                 "Saga orchestrators: active sagas per process; more starts wait (0 = no cap)")
      ->envname("FLEET_MAX_ACTIVE_SAGAS")
      ->check(CLI::Range(0, 1'000'000))
      ->capture_default_str();
  app.add_option("--max-attempts", s.retry.max_attempts, "Broker deliveries before dead-letter")
      ->envname("FLEET_MAX_ATTEMPTS")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  app.add_option("--immediate-attempts", s.retry.immediate_attempts,
                 "In-process tries per delivery")
      ->envname("FLEET_IMMEDIATE_ATTEMPTS")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  app.add_option("--backoff-ms", flags.backoff_ms, "Initial redelivery backoff (full jitter)")
      ->envname("FLEET_BACKOFF_MS")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--max-backoff-ms", flags.max_backoff_ms, "Cap of the redelivery backoff")
      ->envname("FLEET_MAX_BACKOFF_MS")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--ack-wait-ms", flags.ack_wait_ms, "Unacked messages come back after this")
      ->envname("FLEET_ACK_WAIT_MS")
      ->check(CLI::Range(100, 86'400'000))
      ->capture_default_str();
  app.add_option("--drain-timeout-ms", flags.drain_timeout_ms, "Time to finish work on SIGTERM")
      ->envname("FLEET_DRAIN_TIMEOUT_MS")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--timeout-ms", flags.timeout_ms,
                 "Per handler attempt; a slower attempt fails with class timeout (0 = none)")
      ->envname("FLEET_TIMEOUT_MS")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--worker-id", flags.worker_id, "Worker id in logs and DLQ headers")
      ->envname("FLEET_WORKER_ID")
      ->default_str("host:pid");
  app.add_flag("--no-inbox", flags.no_inbox, "Do not deduplicate redelivered events")
      ->envname("FLEET_NO_INBOX");
  app.add_option("--log-level", flags.log_level, "trace, debug, info, warn, error")
      ->envname("FLEET_LOG_LEVEL")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}))
      ->capture_default_str();
  app.add_option("--metrics-addr", flags.metrics_addr,
                 "Serve /metrics, /healthz, /readyz on host:port (port 0 = any; default off)")
      ->envname("FLEET_METRICS_ADDR");
  add_flow_control_flags(app, flags);
  app.add_option("--redact", flags.redact, "Log field names whose values are redacted")
      ->envname("FLEET_REDACT")
      ->delimiter(',');
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << program << ": " << e.what() << " (see --help)\n";
    return 2;
  }
  const Role* role = nullptr;
  for (const auto& candidate : roles) {
    if (candidate.name == flags.role) role = &candidate;
  }
  if (role == nullptr) {
    std::cerr << program << ": unknown role '" << flags.role << "' (see --help)\n";
    return 2;
  }
  s.retry.initial_backoff = std::chrono::milliseconds(flags.backoff_ms);
  s.retry.max_backoff = std::chrono::milliseconds(std::max(flags.max_backoff_ms, flags.backoff_ms));
  s.ack_wait = std::chrono::milliseconds(flags.ack_wait_ms);
  s.timeout = std::chrono::milliseconds(flags.timeout_ms);
  s.inbox = !flags.no_inbox;
  if (auto ok = s.retry.validate(); !ok) {
    std::cerr << program << ": " << ok.error().message << "\n";
    return 2;
  }
  auto& breaker = s.circuit_breaker;
  breaker.window = std::chrono::milliseconds(flags.breaker_window_ms);
  breaker.cool_down = std::chrono::milliseconds(flags.breaker_cool_down_ms);
  breaker.max_cool_down = std::chrono::milliseconds(
      std::max(flags.breaker_max_cool_down_ms, flags.breaker_cool_down_ms));
  if (breaker.error_classes.size() == 1 && breaker.error_classes.front() == "*") {
    breaker.error_classes.clear();
  }
  s.rate_limit_per_role = flags.rate_limit_scope == "role";
  if (auto ok = breaker.validate(); !ok) {
    std::cerr << program << ": " << ok.error().message << "\n";
    return 2;
  }

  log::configure({.level = spdlog::level::from_str(flags.log_level), .redact = flags.redact});
  std::stop_source stop;
  // Detached: it may wait in sigwait forever, and joining it would keep an early error return
  // (cannot connect, a bucket that cannot be opened) from ever exiting.
  watch_signals(stop).detach();

  const std::string servers = broker::describe(flags.broker);
  broker::set_client_name(flags.broker, program + "/" + role->name);
  flags.broker.nats.on_connection_event = [role = role->name](
                                              broker::jetstream::ConnectionEvent event,
                                              const std::string& server) {
    if (event == broker::jetstream::ConnectionEvent::disconnected) {
      log::write(spdlog::level::warn, "nats disconnected", {{"role", role}, {"server", server}});
    } else {
      log::write(spdlog::level::info, "nats reconnected", {{"role", role}, {"server", server}});
    }
  };
  // Every assignment and revocation, so a rebalance (and what it paused) is visible in the log.
  flags.broker.kafka.on_rebalance = [role = role->name](const broker::kafka::Rebalance& change) {
    log::write(change.lost ? spdlog::level::warn : spdlog::level::info,
               change.assigned ? "kafka partitions assigned" : "kafka partitions revoked",
               {{"role", role},
                {"durable", change.durable},
                {"stream", change.stream},
                {"partitions", change.partitions},
                {"lost", change.lost}});
  };
  auto transport = broker::connect(flags.broker);
  if (!transport) {
    std::cerr << program << ": cannot connect to " << servers << ": " << transport.error().message
              << "\n";
    return 1;
  }
  auto metrics = std::make_shared<Metrics>();
  s.metrics = metrics;
  Worker worker(**transport, {.worker_id = flags.worker_id,
                              .drain_timeout = std::chrono::milliseconds(flags.drain_timeout_ms),
                              .metrics = metrics});
  std::atomic<bool> subscribed = false;
  std::unique_ptr<MetricsServer> metrics_server;
  if (!flags.metrics_addr.empty()) {
    auto started = MetricsServer::start(flags.metrics_addr, metrics, **transport,
                                        [&subscribed] { return subscribed.load(); });
    if (!started) {
      std::cerr << program << ": " << started.error().message << "\n";
      return 2;
    }
    metrics_server = std::move(*started);
  }
  for (const auto& stream : role->streams) {
    auto ok = retry_start_up(stop, "stream " + stream.name,
                             [&] { return (*transport)->ensure_stream(stream); });
    if (!ok) {
      std::cerr << program << ": stream " << stream.name << ": " << ok.error().describe() << "\n";
      return 1;
    }
  }
  auto bindings =
      retry_start_up(stop, "role " + role->name, [&] { return role->bindings(**transport, s); });
  if (!bindings) {
    std::cerr << program << ": role " << role->name << ": " << bindings.error().describe() << "\n";
    return 1;
  }
  if (auto ok =
          add_flow_control(**transport, s, role->name, worker.worker_id(), metrics, *bindings);
      !ok) {
    std::cerr << program << ": flow control: " << ok.error().describe() << "\n";
    return 1;
  }
  for (auto& binding : *bindings) {
    if (auto ok = worker.add(std::move(binding)); !ok) {
      std::cerr << program << ": " << ok.error().describe() << "\n";
      return 1;
    }
  }
  subscribed = true;
  log::write(spdlog::level::info, "worker started",
             {{"role", role->name},
              {"worker", worker.worker_id()},
              {"broker", servers},
              {"stream_replicas", flags.broker.nats.replicas},
              {"metrics", metrics_server ? metrics_server->address() : "off"}});
  if (auto ok = worker.run(stop.get_token()); !ok) {
    std::cerr << program << ": " << ok.error().describe() << "\n";
    return 1;
  }
  if (worker.abandoned_work()) {
    // A handler still runs and may use the stores and the transport it captured: exit now
    // rather than destroy them under it. Its message is unsettled; the broker redelivers it.
    log::write(spdlog::level::warn, "worker stopped; exiting with a handler still running",
               {{"role", role->name}});
    spdlog::default_logger()->flush();
    std::_Exit(0);
  }
  log::write(spdlog::level::info, "worker stopped", {{"role", role->name}});
  spdlog::default_logger()->flush();
  return 0;
}

}  // namespace fleet::runtime
