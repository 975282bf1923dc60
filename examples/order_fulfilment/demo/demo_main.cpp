// fleet-demo: the main job of scripts/demo. Starts worker processes of every demo role, places
// N orders, follows every saga to its end through the lifecycle events, and prints a summary:
// placed, completed, compensated, dead-lettered, lost (must be 0), sagas/s, latency
// percentiles, and orders whose ending the demo rules do not allow (must be none).
//
//   fleet-demo [--orders 10000] [--workers N] [--chaos] [--json] [--nats URL[,URL...]]
//              [--stream-replicas 3] [--keep-logs]
//
// Exit 0 when nothing was lost and every ending matches the rules; 1 otherwise; 2 bad usage.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <span>
#include <thread>
#include <utility>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "assignments.hpp"
#include "fleet/broker/jetstream.hpp"
#include "fleet/dlq/time.hpp"
#include "fleet/flags/transport.hpp"
#include "fleet/runtime/dead_letter.hpp"
#include "fleet/schemas/codec.hpp"
#include "fleet/schemas/envelope.hpp"
#include "fleet/schemas/events/saga.hpp"
#include "order_commands.hpp"
#include "order_fulfilment/order_summary.hpp"
#include "orders.hpp"
#include "processes.hpp"
#include "roles.hpp"
#include "shop.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using namespace fleet;
using namespace std::chrono_literals;

struct Options {
  broker::TransportConfig broker = [] {
    broker::TransportConfig config;
    broker::set_client_name(config, "fleet-demo");
    return config;
  }();
  bool keep_logs = false;
  std::uint64_t orders = 10'000;
  int workers = 0;  // 0 = default_workers()
  bool chaos = false;
  bool json = false;
  int stall_seconds = 60;
  std::string worker_binary;
  std::string summary_db = "order_summary.db";
  double rate = 0;             // orders per second; 0 = as fast as the broker takes them
  std::string via = "outbox";  // outbox: committed with the shop's order rows, then relayed
};

// Unix ms of an RFC 3339 time (the envelope's occurred-at); -1 if it does not parse.
double unix_ms(const std::string& text) {
  auto time = dlq::parse_rfc3339(text);
  if (!time) return -1;
  return std::chrono::duration<double, std::milli>(time->time_since_epoch()).count();
}

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const auto index = static_cast<std::size_t>(p / 100.0 * static_cast<double>(values.size() - 1));
  return values[index];
}

std::string random_run_id() {
  std::mt19937_64 random{std::random_device{}()};
  char id[7];
  std::snprintf(id, sizeof id, "%06llx", static_cast<unsigned long long>(random() & 0xffffff));
  return id;
}

// This program: `fleet-demo outbox relay` is the relay the demo starts.
std::filesystem::path self() {
  std::error_code ec;
  return std::filesystem::read_symlink("/proc/self/exe", ec);
}

// The fleet-worker built beside this program (examples/order_fulfilment/CMakeLists.txt).
std::filesystem::path default_worker_binary() {
  return self().parent_path() / "fleet-worker";
}

// Follows saga.orders.lifecycle.> and keeps each saga's ending, and how long each step took
// (from the saga's previous lifecycle event to the step's completed / failed event, or to the
// saga's "completed" for its last step).
class Endings {
 public:
  // Only sagas whose id starts with `prefix` (this run's orders) count: the lifecycle stream may
  // hold earlier runs' sagas when the server is reused.
  explicit Endings(std::string prefix) : prefix_(std::move(prefix)) {}

  void record(const schemas::SagaLifecycle& event, const std::string& occurred_at) {
    if (!event.saga_id.starts_with(prefix_)) return;
    const double at = unix_ms(occurred_at);
    std::lock_guard lock(mutex_);
    if (event.kind == "started") {
      last_[event.saga_id] = at;
    } else if (event.kind == "step.completed" || event.kind == "step.failed" ||
               event.kind == "completed") {  // the last step's success is the saga's "completed"
      if (auto it = last_.find(event.saga_id); it != last_.end() && at >= 0) {
        auto& step = steps_[event.step_name];
        step.first += at - it->second;
        ++step.second;
        it->second = at;
      }
    }
    if (event.kind != "completed" && event.kind != "failed") return;
    last_.erase(event.saga_id);
    const double started = unix_ms(event.started_at), ended = at;
    const bool first =
        endings_
            .try_emplace(event.saga_id,
                         demo::Ending{.status = event.status,
                                      .reason = event.reason,
                                      .latency_ms = started < 0 || ended < 0 ? 0 : ended - started})
            .second;
    if (first) last_ending_ = Clock::now();
  }
  // When the latest saga's ending was read (this process's clock); unset before the first.
  std::optional<Clock::time_point> last_ending() {
    std::lock_guard lock(mutex_);
    return last_ending_;
  }
  std::size_t size() {
    std::lock_guard lock(mutex_);
    return endings_.size();
  }
  std::map<std::string, demo::Ending> all() {
    std::lock_guard lock(mutex_);
    return endings_;
  }
  // The step with the longest mean time, and that mean in ms ("" if none was timed).
  std::pair<std::string, double> slowest_step() {
    std::lock_guard lock(mutex_);
    std::pair<std::string, double> slowest{"", 0};
    for (const auto& [name, total] : steps_) {
      const double mean =
          total.first / static_cast<double>(std::max<std::uint64_t>(1, total.second));
      if (slowest.first.empty() || mean > slowest.second) slowest = {name, mean};
    }
    return slowest;
  }

 private:
  std::string prefix_;
  std::mutex mutex_;
  std::map<std::string, demo::Ending> endings_;
  std::map<std::string, double> last_;  // saga id -> time of its latest lifecycle event
  std::map<std::string, std::pair<double, std::uint64_t>> steps_;  // step -> (total ms, count)
  std::optional<Clock::time_point> last_ending_;
};

// Records the lifecycle event a delivery carries (only a saga's ending with `endings_only`).
void record_lifecycle(broker::Delivery& delivery, Endings& endings, bool endings_only = false) {
  auto meta =
      schemas::metadata_from([&delivery](std::string_view name) { return delivery.header(name); });
  auto event = schemas::decode<schemas::SagaLifecycle>(delivery.body());
  if (!meta || !event) return;
  if (endings_only && event->kind != "completed" && event->kind != "failed") return;
  endings.record(*event, meta->occurred_at);
}

void follow(broker::Subscription& subscription, Endings& endings, std::atomic<bool>& stop) {
  while (!stop) {
    auto batch = subscription.fetch(256, 200ms);
    if (!batch) continue;  // a broker hiccup: fetch again
    for (auto& delivery : *batch) {
      record_lifecycle(delivery, endings);
      // On JetStream the reader's durable takes no acks (ConsumerConfig::acks) and this sends
      // nothing. Elsewhere a refused ack brings the event back after the ack wait; recording it
      // again leaves the endings as they are (one per saga), so there is nothing else to do.
      if (!delivery.ack()) continue;
    }
  }
}

// The reader above takes no acks, so an event in flight when its server died (a cluster node
// killed) is not delivered again, and its saga would look lost. When endings stop arriving
// before every order ended, this reads the lifecycle events again from the start, through a
// durable of its own that takes acks, and records the endings found there.
void read_missed_endings(broker::Transport& transport, const std::string& run, Endings& endings) {
  const broker::ConsumerConfig again{.stream = demo::saga_stream,
                                     .durable = "demo-" + run + "-again",
                                     .filter_subject = "saga.orders.lifecycle.>",
                                     .max_ack_pending = 10'000};
  if (!transport.ensure_consumer(again)) return;
  if (auto subscription = transport.subscribe(again)) {
    for (;;) {
      auto batch = (*subscription)->fetch(256, 500ms);
      if (!batch || batch->empty()) break;
      for (auto& delivery : *batch) {
        // Endings only: the steps' timings were taken from the events read live.
        record_lifecycle(delivery, endings, /*endings_only=*/true);
        (void)delivery.ack();
      }
    }
    subscription->reset();
  }
  (void)transport.remove_consumer(again.stream, again.durable);
}

// True once every durable in `names` exists (its worker bound it), within `timeout`.
bool ready(broker::Transport& transport, const std::vector<std::string>& names,
           std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    std::size_t found = 0;
    if (auto streams = transport.streams()) {
      for (const auto& s : *streams) {
        for (const auto& c : s.consumers) {
          found += std::count(names.begin(), names.end(), c.name);
        }
      }
    }
    if (found >= names.size()) return true;
    std::this_thread::sleep_for(100ms);
  }
  return false;
}

// True once `durable` (of any stream) has nothing pending or unacked, within `timeout`.
bool caught_up(broker::Transport& transport, const std::string& durable,
               std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (auto streams = transport.streams()) {
      for (const auto& s : *streams) {
        for (const auto& c : s.consumers) {
          if (c.name == durable && c.pending == 0 && c.ack_pending == 0) return true;
        }
      }
    }
    std::this_thread::sleep_for(100ms);
  }
  return false;
}

void progress(std::uint64_t placed, std::uint64_t total, std::size_t ended, int kills) {
  static const bool terminal = ::isatty(STDERR_FILENO) == 1;
  static auto last_line = Clock::time_point{};
  if (!terminal) {
    if (Clock::now() - last_line < 3s && ended < total) return;
    last_line = Clock::now();
    std::fprintf(stderr, "placed %llu/%llu  ended %zu  workers killed %d\n",
                 static_cast<unsigned long long>(placed), static_cast<unsigned long long>(total),
                 ended, kills);
    return;
  }
  const int width = 40;
  const int filled = total ? static_cast<int>(width * ended / total) : width;
  std::fprintf(stderr, "\r[%s%s] placed %llu/%llu  ended %zu%s", std::string(filled, '#').c_str(),
               std::string(width - filled, '.').c_str(), static_cast<unsigned long long>(placed),
               static_cast<unsigned long long>(total), ended,
               kills ? ("  workers killed " + std::to_string(kills)).c_str() : "");
  std::fflush(stderr);
}

// How --chaos kills. On NATS a worker is SIGKILLed every half second and restarted at once.
// On Kafka every kill costs its group rebalances, and the dev cluster (librdkafka 2.0's mock)
// is slow at them: it keeps the dead member until its session times out, holds every rebalance
// for the session timeout less a second while it waits for members, and a member joining while
// the dead one is still listed costs a second round. So on Kafka the replacement starts once
// the dead member's session is over (it joins the round its eviction opens: one round per
// kill, as with a supervisor's restart delay), and the next kill waits until that round is
// done: two session timeouts apart. docs/operations.md "Kafka rebalances" has the figures.
struct Chaos {
  std::chrono::milliseconds interval{500};
  std::chrono::milliseconds restart_delay{0};
};
Chaos chaos_for(const broker::TransportConfig& broker) {
  if (broker.transport != "kafka") return {};
  const auto session = broker.kafka.session_timeout;
  return {.interval = 2 * session, .restart_delay = session + 1s};
}

// The workers connect the way the demo did: the same servers, replicas and credentials.
std::vector<std::string> worker_environment(const Options& o) {
  const auto& nats = o.broker.nats;
  const auto& kafka = o.broker.kafka;
  std::vector<std::string> env{
      "FLEET_TRANSPORT=" + o.broker.transport,
      "FLEET_NATS_URL=" + nats.url,
      "FLEET_STREAM_REPLICAS=" + std::to_string(nats.replicas),
      "FLEET_KAFKA_BROKERS=" + kafka.brokers,
      "FLEET_KAFKA_PARTITIONS=" + std::to_string(kafka.partitions),
      "FLEET_STATE_URL=" + kafka.state_url,
      "FLEET_KAFKA_SESSION_TIMEOUT_MS=" + std::to_string(kafka.session_timeout.count()),
      "FLEET_KAFKA_ASSIGNOR=" + kafka.assignor,
      "FLEET_KAFKA_FETCH_WAIT_MS=" + std::to_string(kafka.fetch_wait.count()),
      "FLEET_ACK_WAIT_MS=3000",
      "FLEET_BACKOFF_MS=50",
      "FLEET_MAX_BACKOFF_MS=2000",
      "FLEET_ORDER_SUMMARY_DB=" + o.summary_db};
  const auto& c = nats.credentials;
  const std::pair<const char*, const std::string*> secrets[] = {
      {"FLEET_NATS_USER", &c.user},   {"FLEET_NATS_PASSWORD", &c.password},
      {"FLEET_NATS_TOKEN", &c.token}, {"FLEET_NATS_CREDS", &c.creds_file},
      {"FLEET_NATS_CA", &c.ca_file},  {"FLEET_NATS_CERT", &c.cert_file},
      {"FLEET_NATS_KEY", &c.key_file}};
  for (const auto& [name, value] : secrets) {
    if (!value->empty()) env.push_back(std::string(name) + "=" + *value);
  }
  if (c.tls) env.push_back("FLEET_NATS_TLS=1");
  if (nats.send_asap) env.push_back("FLEET_NATS_SEND_ASAP=1");
  return env;
}

}  // namespace

// Processes per role when --workers is not given. On a machine with 2 CPUs or fewer one process
// per role does more sagas per second than two (fewer threads and processes contending for the
// same cores: +27% measured, docs/benchmarks.md); with --chaos two, so a role keeps working while
// one of its processes is killed.
int default_workers(bool chaos) {
  if (chaos) return 2;
  return std::thread::hardware_concurrency() > 2 ? 2 : 1;
}

int main(int argc, char** argv) {
  // `fleet-demo <command> ...`: the application's operator command (fleet's commands with the
  // order events, plus orders and projection rebuild); without a command: the demo run.
  if (argc > 1 && argv[1][0] != '-')
    return fleet::cli::run(order_fulfilment::operator_cli(), argc, argv);
  Options o;
  CLI::App app{"fleet-demo: the order-fulfilment saga demo (reserve -> charge -> ship)"};
  app.footer(
      "Commands: fleet-demo <command> --help. fleet's commands (publish, streams, status, outbox, "
      "dlq, dev-kafka, schemas) with the order events registered, and orders and projection "
      "rebuild order_summary.");
  flags::add_transport_flags(app, o.broker);
  app.add_option("--orders", o.orders, "Orders to place")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--workers", o.workers,
                 "Processes per role (default: 2 with --chaos or on more than 2 CPUs, else 1)")
      ->check(CLI::Range(1, 16));
  app.add_flag("--chaos", o.chaos,
               "SIGKILL a random worker every half second and restart it (on Kafka every two "
               "session timeouts, restarted after one: the dev cluster's rebalances are slow, "
               "see docs/operations.md)");
  app.add_flag("--json", o.json, "Print the summary as one JSON object");
  app.add_flag("--keep-logs", o.keep_logs, "Keep the worker logs also when the run succeeded");
  app.add_option("--stall-seconds", o.stall_seconds, "Give up when no saga ends for this long")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--rate", o.rate, "Orders placed per second (0 = all at once)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--via", o.via,
                 "outbox: each order row and its OrderPlaced commit together in SQLite and "
                 "`fleet-demo outbox relay` publishes them; broker: publish directly")
      ->check(CLI::IsMember({"outbox", "broker"}))
      ->capture_default_str();
  app.add_option("--summary-db", o.summary_db, "The order_summary read model's SQLite file")
      ->capture_default_str();
  app.add_option("--worker-binary", o.worker_binary, "fleet-worker to run (default: the build's)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    std::cerr << "fleet-demo: " << e.what() << " (see --help)\n";
    return 2;
  }
  if (o.workers == 0) o.workers = default_workers(o.chaos);
  demo::Rules rules;
  try {
    rules = demo::Rules::from_env();
  } catch (const std::exception& e) {
    std::cerr << "fleet-demo: " << e.what() << "\n";
    return 2;
  }
  const std::filesystem::path binary =
      o.worker_binary.empty() ? default_worker_binary() : std::filesystem::path(o.worker_binary);
  if (!std::filesystem::exists(binary)) {
    std::cerr << "fleet-demo: worker binary not found: " << binary << "\n";
    return 2;
  }

  auto connected = broker::connect(o.broker);
  if (!connected) {
    std::cerr << "fleet-demo: cannot connect to " << broker::describe(o.broker) << ": "
              << connected.error().message << "\n";
    return 1;
  }
  auto& transport = **connected;
  for (const auto& stream : demo::streams()) {
    if (auto ok = transport.ensure_stream(stream); !ok) {
      std::cerr << "fleet-demo: " << ok.error().describe() << "\n";
      return 1;
    }
  }
  (void)transport.ensure_stream(runtime::DeadLetterConfig{}.stream_config());

  const std::string run = random_run_id();
  const broker::ConsumerConfig reader{.stream = demo::saga_stream,
                                      .durable = "demo-" + run,
                                      .filter_subject = "saga.orders.lifecycle.>",
                                      .max_ack_pending = 10'000,
                                      // An observer: on JetStream no ack per event read.
                                      .acks = false};
  if (auto ok = transport.ensure_consumer(reader); !ok) {
    std::cerr << "fleet-demo: " << ok.error().describe() << "\n";
    return 1;
  }
  auto subscription = transport.subscribe(reader);
  if (!subscription) {
    std::cerr << "fleet-demo: " << subscription.error().describe() << "\n";
    return 1;
  }

  // Redelivery well inside a step's timeout, so a killed worker's messages are picked up again
  // before their saga gives up on them.
  const auto log_dir = std::filesystem::temp_directory_path() / ("fleet-demo-" + run);
  std::filesystem::create_directories(log_dir);
  demo::Processes processes(binary, log_dir, worker_environment(o));
  for (const char* role : {"orders", "inventory", "payment", "shipping"}) {
    processes.start(role, o.workers);
  }
  processes.start("order_summary", 1);  // SQLite: one writer

  // Orders go through the shop's outbox: a relay process publishes them (killed by --chaos
  // too; a short lease lets its replacement take over quickly). It reaches the broker through
  // the same FLEET_NATS_* environment as the workers.
  std::optional<demo::Shop> shop;
  if (o.via == "outbox") {
    const auto path = (log_dir / "shop.db").string();
    auto opened = demo::Shop::open(path);
    if (!opened) {
      std::cerr << "fleet-demo: " << opened.error().describe() << "\n";
      return 1;
    }
    shop.emplace(std::move(*opened));
    processes.start_command(
        "relay", {self().string(), "outbox", "relay", "--db", "sqlite:" + path, "--lease", "3"});
  }

  // Latency counts from the order placed: wait until every role has bound its durables.
  const std::vector<std::string> durables = {"orders-start", "orders-replies", "orders-timers",
                                             "inventory",    "payment",        "shipping",
                                             "order_summary"};
  if (!ready(transport, durables, 60s)) {
    std::cerr << "fleet-demo: workers did not start; see " << log_dir << "\n";
    return 1;
  }
  if (o.broker.transport == "kafka") {
    const auto unassigned = demo::wait_for_assignments(log_dir, durables, 60s);
    for (const auto& durable : unassigned) {
      std::cerr << "fleet-demo: " << durable
                << " has no partitions after 60 s; placing orders anyway\n";
    }
  }
  Endings endings("o-" + run + "-");  // plan_orders' ids
  std::atomic<bool> stop_following = false;
  std::thread follower([&] { follow(**subscription, endings, stop_following); });

  const auto orders = demo::plan_orders(o.orders, run, rules);
  std::atomic<std::uint64_t> placed = 0, publish_failed = 0;
  const auto start = Clock::now();
  std::atomic<bool> stop_chaos = false;
  std::atomic<int> kills = 0;
  std::thread chaos;
  if (o.chaos) {
    chaos = std::thread([&] {
      const Chaos plan = chaos_for(o.broker);
      std::mt19937_64 random{std::random_device{}()};
      while (!stop_chaos) {
        std::this_thread::sleep_for(plan.interval - plan.restart_delay);
        if (stop_chaos) break;
        processes.kill_and_restart(random, plan.restart_delay);
        ++kills;
      }
    });
  }

  std::atomic<bool> placing = true;
  // Publishes refused while the broker fails over (a stream leader election answers "no
  // responders") are placed again afterwards with the same dedup id, so none is doubled.
  std::mutex refused_mutex;
  std::vector<broker::Message> refused;
  std::thread placer([&] {
    const auto begin = Clock::now();
    const auto pace = [&](std::uint64_t n) {
      if (o.rate <= 0) return;
      std::this_thread::sleep_until(
          begin + std::chrono::duration_cast<Clock::duration>(
                      std::chrono::duration<double>(static_cast<double>(n) / o.rate)));
    };
    if (shop) {
      // Paced orders commit one by one; a burst commits 100 per transaction.
      const std::size_t batch = o.rate > 0 ? 1 : 100;
      for (std::size_t first = 0; first < orders.size(); first += batch) {
        pace(first);
        const std::size_t n = std::min(batch, orders.size() - first);
        if (auto ok = shop->place(std::span(orders).subspan(first, n)); ok) {
          placed += n;
        } else {
          publish_failed += n;
          std::cerr << "fleet-demo: " << ok.error().describe() << "\n";
        }
      }
      placing = false;
      return;
    }
    std::uint64_t n = 0;
    for (const auto& order : orders) {
      pace(n++);
      auto meta = schemas::new_metadata(std::string(schemas::OrderPlaced::type_name));
      meta.ordering_key = order.order_id;
      broker::Message message{.subject = demo::placed_subject,
                              .headers = schemas::to_headers(meta),
                              .body = schemas::encode(order),
                              .dedup_id = meta.id};
      auto sent =
          transport.publish_async(message, [&, message](const Result<broker::PublishAck>& ack) {
            if (ack) {
              ++placed;
            } else {
              std::lock_guard lock(refused_mutex);
              refused.push_back(message);
            }
          });
      if (!sent) {
        std::lock_guard lock(refused_mutex);
        refused.push_back(std::move(message));
      }
      if (o.rate > 0) transport.send_now();  // paced: its latency counts from now
    }
    // A publish lost in a disconnect (a broker restart) is never confirmed. The flush fails
    // whatever is unanswered after 5 s, and the loop below publishes it again (with its dedup
    // id, so a copy the broker did store is dropped), instead of the run waiting out a long flush.
    (void)transport.flush(5s);
    std::vector<broker::Message> again;
    {
      std::lock_guard lock(refused_mutex);
      again.swap(refused);
    }
    for (const auto& message : again) {
      bool ok = false;
      for (int attempt = 0; attempt < 30 && !ok; ++attempt) {
        ok = transport.publish(message, 5s).has_value();
        if (!ok) std::this_thread::sleep_for(1s);
      }
      ++(ok ? placed : publish_failed);
    }
    placing = false;
  });

  auto last_change = Clock::now(), last_reread = Clock::now();
  std::size_t last_ended = 0;
  std::vector<std::string> exits;  // workers that died on their own (and were restarted)
  while (placing || endings.size() < placed) {
    progress(placed, orders.size(), endings.size(), kills);
    std::this_thread::sleep_for(200ms);
    for (auto& e : processes.restart_exited()) exits.push_back(std::move(e));
    if (endings.size() != last_ended) {
      last_ended = endings.size();
      last_change = Clock::now();
    } else if (Clock::now() - last_change > std::chrono::seconds(o.stall_seconds)) {
      break;
    } else if (!placing && Clock::now() - last_change > 5s && Clock::now() - last_reread > 5s) {
      const auto before = endings.size();
      read_missed_endings(transport, run, endings);
      last_reread = Clock::now();
      if (endings.size() > before) {
        std::fprintf(stderr, "read again: %zu endings the live reader missed\n",
                     endings.size() - before);
      }
    }
  }
  placer.join();
  // The run lasts from the first order placed to the last ending read, not to the next tick of
  // the 200 ms progress loop above.
  const double seconds =
      std::chrono::duration<double>(endings.last_ending().value_or(Clock::now()) - start).count();
  progress(placed, orders.size(), endings.size(), kills);
  if (::isatty(STDERR_FILENO) == 1) std::fprintf(stderr, "\n");
  stop_chaos = true;
  if (chaos.joinable()) chaos.join();
  const bool read_model_caught_up = caught_up(transport, "order_summary", 30s);
  for (auto& e : processes.restart_exited()) exits.push_back(std::move(e));
  const bool clean_stop = processes.stop_all();
  stop_following = true;
  follower.join();
  // The reader's durable is this run's alone: leave the server without it.
  subscription->reset();
  if (auto removed = transport.remove_consumer(reader.stream, reader.durable); !removed) {
    std::cerr << "fleet-demo: " << removed.error().describe() << "\n";
  }

  const auto ended = endings.all();
  std::uint64_t completed = 0, failed = 0;
  std::vector<double> latencies;
  for (const auto& [id, end] : ended) {
    (end.status == "completed" ? completed : failed) += 1;
    latencies.push_back(end.latency_ms);
  }
  std::uint64_t dead = 0;
  if (auto streams = transport.streams()) {
    for (const auto& s : *streams) {
      if (s.name == "DLQ") dead = s.messages;
    }
  }
  std::uint64_t lost = 0;
  for (const auto& order : orders) lost += ended.contains(order.order_id) ? 0 : 1;
  auto wrong = demo::check_rules(orders, ended, rules);
  // The read model must tell the same story as the lifecycle events.
  std::map<std::string, std::uint64_t> model;
  if (auto summary = projection::OrderSummary::open(o.summary_db)) {
    if (auto rows = summary->query({})) {
      for (const auto& row : *rows) {
        auto it = ended.find(row.order_id);
        if (it == ended.end()) continue;  // another run's order
        ++model[row.status];
        if (row.status != it->second.status) {
          wrong.push_back(row.order_id + ": read model says " + row.status + ", saga ended " +
                          it->second.status);
        }
      }
    }
  }
  if (!read_model_caught_up) wrong.push_back("order_summary did not catch up within 30 s");

  const auto slowest = endings.slowest_step();
  nlohmann::json summary{
      {"placed", placed.load()},
      {"publish_failed", publish_failed.load()},
      {"completed", completed},
      {"compensated", failed},
      {"dead_lettered", dead},
      {"lost", lost},
      {"sagas_per_second", ended.size() / seconds},
      {"latency_ms",
       {{"p50", percentile(latencies, 50)},
        {"p95", percentile(latencies, 95)},
        {"p99", percentile(latencies, 99)}}},
      {"rule_violations", wrong.size()},
      {"slowest_role", {{"role", slowest.first}, {"mean_ms", slowest.second}}},
      {"workers_killed", kills.load()},
      {"worker_crashes", exits.size()},
      {"read_model",
       {{"completed", model["completed"]}, {"failed", model["failed"]}, {"db", o.summary_db}}},
      {"worker_logs", log_dir.string()}};
  if (o.json) {
    std::cout << summary.dump() << "\n";
  } else {
    std::printf("placed        %llu\n", static_cast<unsigned long long>(placed.load()));
    std::printf("completed     %llu\n", static_cast<unsigned long long>(completed));
    std::printf("compensated   %llu\n", static_cast<unsigned long long>(failed));
    std::printf("dead-lettered %llu\n", static_cast<unsigned long long>(dead));
    std::printf("lost          %llu\n", static_cast<unsigned long long>(lost));
    std::printf("sagas/s       %.0f\n", ended.size() / seconds);
    std::printf("latency ms    p50 %.0f  p95 %.0f  p99 %.0f\n", percentile(latencies, 50),
                percentile(latencies, 95), percentile(latencies, 99));
    std::printf("slowest role  %s (mean %.1f ms per step)\n", slowest.first.c_str(),
                slowest.second);
    std::printf(
        "rule violations %zu%s\n", wrong.size(),
        o.chaos ? ("   (workers killed: " + std::to_string(kills.load()) + ")").c_str() : "");
    std::printf("read model    %llu completed, %llu failed   (fleet-demo orders --db %s)\n",
                static_cast<unsigned long long>(model["completed"]),
                static_cast<unsigned long long>(model["failed"]), o.summary_db.c_str());
    std::printf("worker logs   %s\n", log_dir.c_str());
  }
  for (std::size_t i = 0; i < std::min<std::size_t>(wrong.size(), 10); ++i) {
    std::cerr << "fleet-demo: rule violation: " << wrong[i] << "\n";
  }
  for (const auto& e : exits) {
    std::cerr << "fleet-demo: worker exited on its own (restarted): " << e << "; logs kept in "
              << log_dir.string() << "\n";
  }
  if (!clean_stop) std::cerr << "fleet-demo: a worker did not stop cleanly on SIGTERM\n";
  // A worker that died on its own is a bug to look into (its log is kept), but the demo's
  // promise is about orders: none lost, every ending by the rules.
  const bool ok = lost == 0 && wrong.empty() && publish_failed == 0;
  if (ok && exits.empty() && !o.keep_logs) std::filesystem::remove_all(log_dir);
  return ok ? 0 : 1;
}
