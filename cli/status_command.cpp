// fleet status: one screen for the operator — streams, durables with backlog and consumers,
// dead letters per original subject, the outbox backlog when given its database, and sagas by
// status when the application has a read model of them (Application::saga_summary) at hand. --watch
// redraws it in place every --interval seconds, like top.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "broker_options.hpp"
#include "commands.hpp"
#include "fleet/cli/application.hpp"
#include "fleet/dlq/time.hpp"
#include "fleet/outbox/store.hpp"
#include "fleet/runtime/worker_main.hpp"

namespace fleet::cli {
namespace {

struct StatusOptions {
  BrokerOptions nats;
  bool json = false;
  bool watch = false;
  double interval = 2;
  std::string dlq_stream = "DLQ";
  std::string summary_db;
  std::string outbox_db;
};

std::string time_text(std::int64_t unix_ms) {
  if (unix_ms <= 0) return "-";
  return dlq::format_time(dlq::Time(std::chrono::milliseconds(unix_ms)));
}

// Circuits the workers reported (fleet/runtime/worker_main.hpp, circuits_bucket): every entry
// of the bucket, closed ones included. Read only where the bucket is a stream that lists its keys
// (JetStream); absent when no worker runs a breaker.
std::optional<nlohmann::json> circuits(broker::Transport& transport,
                                       const std::vector<broker::StreamInfo>& streams) {
  const std::string stream = std::string("KV_") + runtime::circuits_bucket;
  const bool present =
      std::any_of(streams.begin(), streams.end(), [&](const auto& s) { return s.name == stream; });
  if (!present) return std::nullopt;
  const std::string prefix = std::string("$KV.") + runtime::circuits_bucket + ".";
  auto keys = transport.subject_counts(stream, prefix + ">");
  if (!keys) return std::nullopt;
  auto bucket =
      transport.key_value({.name = runtime::circuits_bucket, .ttl = runtime::circuits_bucket_ttl});
  if (!bucket) return std::nullopt;
  nlohmann::json all = nlohmann::json::array();
  for (const auto& [subject, count] : *keys) {
    auto entry = (*bucket)->get(subject.substr(prefix.size()));
    if (!entry || !*entry) continue;  // erased or expired
    auto value = nlohmann::json::parse((*entry)->value, nullptr, false);
    if (value.is_object()) all.push_back(std::move(value));
  }
  return all;
}

nlohmann::json collect(broker::Transport& transport, const StatusOptions& o) {
  auto streams = transport.streams();
  if (!streams) throw CommandError("cannot read streams: " + streams.error().message);
  nlohmann::json status{{"streams", nlohmann::json::array()},
                        {"durables", nlohmann::json::array()}};
  std::uint64_t dlq_total = 0;
  for (const auto& s : *streams) {
    status["streams"].push_back({{"name", s.name},
                                 {"messages", s.messages},
                                 {"bytes", s.bytes},
                                 {"first", time_text(s.first_time_ms)},
                                 {"last", time_text(s.last_time_ms)}});
    if (s.name == o.dlq_stream) dlq_total = s.messages;
    for (const auto& c : s.consumers) {
      status["durables"].push_back({{"stream", s.name},
                                    {"durable", c.name},
                                    {"pending", c.pending},
                                    {"ack_pending", c.ack_pending},
                                    {"redelivered", c.redelivered},
                                    {"waiting_fetches", c.waiting}});
    }
  }
  nlohmann::json per_subject = nlohmann::json::object();
  if (dlq_total > 0) {
    if (auto counts = transport.subject_counts(o.dlq_stream, ">")) {
      for (const auto& [subject, count] : *counts) per_subject[subject] = count;
    }
  }
  status["dead_letters"] = {{"total", dlq_total}, {"by_subject", per_subject}};
  if (auto reported = circuits(transport, *streams)) status["circuits"] = std::move(*reported);
  if (!o.outbox_db.empty()) {
    auto store = outbox::open_store(o.outbox_db);
    if (!store)
      throw CommandError("cannot open outbox " + o.outbox_db + ": " + store.error().message);
    auto counts = (*store)->counts();
    if (!counts) throw CommandError("cannot read outbox: " + counts.error().message);
    status["outbox"] = {
        {"pending", counts->pending}, {"flagged", counts->flagged}, {"sent", counts->sent}};
  }
  const auto& sagas = application().saga_summary;
  if (sagas && !o.summary_db.empty() && std::filesystem::exists(o.summary_db)) {
    if (auto by_status = sagas->counts(o.summary_db)) status["sagas"] = *by_status;
  }
  return status;
}

void print(const nlohmann::json& s) {
  std::printf("%-26s %12s %14s  %-20s  %-20s\n", "STREAM", "MESSAGES", "BYTES", "FIRST", "LAST");
  for (const auto& x : s["streams"]) {
    std::printf("%-26s %12llu %14llu  %-20s  %-20s\n", x["name"].get<std::string>().c_str(),
                x["messages"].get<unsigned long long>(), x["bytes"].get<unsigned long long>(),
                x["first"].get<std::string>().c_str(), x["last"].get<std::string>().c_str());
  }
  std::printf("\n%-12s %-24s %10s %12s %12s %9s\n", "STREAM", "DURABLE", "PENDING", "ACK PENDING",
              "REDELIVERED", "FETCHING");
  for (const auto& d : s["durables"]) {
    std::printf("%-12s %-24s %10llu %12llu %12llu %9llu\n", d["stream"].get<std::string>().c_str(),
                d["durable"].get<std::string>().c_str(), d["pending"].get<unsigned long long>(),
                d["ack_pending"].get<unsigned long long>(),
                d["redelivered"].get<unsigned long long>(),
                d["waiting_fetches"].get<unsigned long long>());
  }
  std::printf("\nDEAD LETTERS  %llu\n", s["dead_letters"]["total"].get<unsigned long long>());
  for (const auto& [subject, count] : s["dead_letters"]["by_subject"].items()) {
    std::printf("  %-40s %10llu\n", subject.c_str(), count.get<unsigned long long>());
  }
  if (s.contains("circuits")) {
    // One line per circuit that is not closed: role, binding, worker, state, since when, why.
    std::string lines;
    for (const auto& c : s["circuits"]) {
      const auto state = c.value("state", "");
      if (state == "closed") continue;
      lines += "  " + c.value("role", "") + "  " + c.value("binding", "") + "  " +
               c.value("worker", "") + "  " + state + " since " + c.value("since", "") + "  (" +
               c.value("reason", "") + ")\n";
    }
    std::printf("\nCIRCUITS  %s\n%s", lines.empty() ? "all closed" : "not all closed",
                lines.c_str());
  }
  if (s.contains("outbox")) {
    std::printf("\nOUTBOX  pending %llu  flagged %llu  sent %llu\n",
                s["outbox"]["pending"].get<unsigned long long>(),
                s["outbox"]["flagged"].get<unsigned long long>(),
                s["outbox"]["sent"].get<unsigned long long>());
  }
  if (s.contains("sagas")) {
    std::printf("\nSAGAS");
    for (const auto& [status, count] : s["sagas"].items()) {
      std::printf("  %s %llu", status.c_str(), count.get<unsigned long long>());
    }
    std::printf("\n");
  }
}

void run(const StatusOptions& o) {
  auto transport = connect_or_throw(o.nats);
  for (;;) {
    const auto status = collect(*transport, o);
    if (o.watch && !o.json) std::printf("\033[H\033[2J");  // home, clear: redraw in place
    if (o.json) {
      std::cout << status.dump() << std::endl;
    } else {
      print(status);
      std::fflush(stdout);
    }
    if (!o.watch) return;
    std::this_thread::sleep_for(std::chrono::duration<double>(o.interval));
  }
}

}  // namespace

void add_status_command(CLI::App& app) {
  auto o = std::make_shared<StatusOptions>();
  const auto& sagas = application().saga_summary;
  if (sagas && !sagas->env.empty()) {
    if (const char* db = std::getenv(sagas->env.c_str())) o->summary_db = db;
  }
  auto* command = app.add_subcommand(
      "status", "Streams, durable backlogs, dead letters per subject and sagas at a glance");
  add_broker_options(*command, o->nats);
  command->add_flag("--json", o->json, "Print one JSON object (with --watch: one per refresh)");
  command->add_flag("--watch", o->watch, "Refresh until interrupted");
  command->add_option("--interval", o->interval, "Seconds between refreshes")
      ->check(CLI::Range(0.2, 3600.0))
      ->capture_default_str();
  command->add_option("--dlq-stream", o->dlq_stream, "Dead-letter stream")->capture_default_str();
  command
      ->add_option("--outbox-db", o->outbox_db,
                   "Outbox backlog too: sqlite:PATH or postgres://... (env FLEET_OUTBOX_DB)")
      ->envname("FLEET_OUTBOX_DB");
  if (sagas) command->add_option("--summary-db", o->summary_db, sagas->help);
  command->callback([o] { run(*o); });
}

}  // namespace fleet::cli
