// fleet streams: every stream with its durable consumers and their backlog.
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "broker_options.hpp"
#include "commands.hpp"
#include "streams_commands.hpp"

namespace fleet::cli {
namespace {

struct StreamsOptions {
  BrokerOptions nats;
  bool json = false;
};

std::string join(const std::vector<std::string>& parts) {
  std::string joined;
  for (const auto& part : parts) joined += (joined.empty() ? "" : ",") + part;
  return joined;
}

nlohmann::json to_json(const broker::StreamInfo& stream) {
  nlohmann::json consumers = nlohmann::json::array();
  for (const auto& c : stream.consumers) {
    consumers.push_back({{"name", c.name},
                         {"pending", c.pending},
                         {"ack_pending", c.ack_pending},
                         {"redelivered", c.redelivered}});
  }
  return {{"name", stream.name},
          {"subjects", stream.subjects},
          {"messages", stream.messages},
          {"bytes", stream.bytes},
          {"first_sequence", stream.first_sequence},
          {"last_sequence", stream.last_sequence},
          {"leader", stream.leader},
          {"consumers", consumers}};
}

void print_table(const std::vector<broker::StreamInfo>& streams) {
  if (streams.empty()) {
    std::cout << "no streams\n";
    return;
  }
  std::printf("%-24s %-28s %12s %14s\n", "STREAM", "SUBJECTS", "MESSAGES", "BYTES");
  for (const auto& s : streams) {
    std::printf("%-24s %-28s %12llu %14llu\n", s.name.c_str(), join(s.subjects).c_str(),
                static_cast<unsigned long long>(s.messages),
                static_cast<unsigned long long>(s.bytes));
    if (s.consumers.empty()) continue;
    std::printf("  %-22s %12s %12s %12s\n", "DURABLE", "PENDING", "ACK PENDING", "REDELIVERED");
    for (const auto& c : s.consumers) {
      std::printf("  %-22s %12llu %12llu %12llu\n", c.name.c_str(),
                  static_cast<unsigned long long>(c.pending),
                  static_cast<unsigned long long>(c.ack_pending),
                  static_cast<unsigned long long>(c.redelivered));
    }
  }
}

void run(const StreamsOptions& options) {
  auto transport = connect_or_throw(options.nats);
  auto streams = transport->streams();
  if (!streams) throw CommandError("cannot list streams: " + streams.error().message);
  if (options.json) {
    nlohmann::json all = nlohmann::json::array();
    for (const auto& s : *streams) all.push_back(to_json(s));
    std::cout << all.dump() << "\n";
  } else {
    print_table(*streams);
  }
}

}  // namespace

void add_streams_command(CLI::App& app) {
  auto options = std::make_shared<StreamsOptions>();
  auto* command = app.add_subcommand(
      "streams", "List streams and their durable consumers with backlog; add or rm a stream");
  add_broker_options(*command, options->nats);
  command->add_flag("--json", options->json, "Print one JSON array instead of a table");
  command->require_subcommand(0, 1);
  add_streams_add_command(*command);
  add_streams_rm_command(*command);
  // CLI11 runs this after a chosen subcommand too: list only when none was chosen.
  command->callback([options, command] {
    if (command->get_subcommands().empty()) run(*options);
  });
}

}  // namespace fleet::cli
