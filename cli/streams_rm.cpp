// fleet streams rm NAME [--yes]: removes a stream with its messages and durable consumers. Asks
// first at a terminal; elsewhere it needs --yes.
#include <iostream>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "broker_options.hpp"
#include "streams_commands.hpp"
#include "terminal.hpp"

namespace fleet::cli {
namespace {

struct RmOptions {
  BrokerOptions broker;
  std::string name;
  bool yes = false;
  bool json = false;
};

void run(const RmOptions& options) {
  auto transport = connect_or_throw(options.broker);
  auto streams = transport->streams();
  if (!streams) throw CommandError("cannot list streams: " + streams.error().message);
  const broker::StreamInfo* found = nullptr;
  for (const auto& stream : *streams) {
    if (stream.name == options.name) found = &stream;
  }
  if (found == nullptr) throw CommandError("no stream " + options.name);
  if (!options.yes) {
    if (!stdin_is_terminal()) {
      throw CommandError("refusing to remove stream " + options.name + " without --yes", 2);
    }
    const std::string question = "remove stream " + options.name + " with its " +
                                 std::to_string(found->messages) + " messages and " +
                                 std::to_string(found->consumers.size()) + " durables?";
    if (!confirm(question)) throw CommandError("not removed", 1);
  }
  if (auto removed = transport->remove_stream(options.name); !removed) {
    throw CommandError("cannot remove stream " + options.name + ": " + removed.error().message);
  }
  if (options.json) {
    std::cout << nlohmann::json{{"removed", options.name}, {"messages", found->messages}}.dump()
              << "\n";
  } else {
    std::cout << "removed stream " << options.name << " (" << found->messages << " messages)\n";
  }
}

}  // namespace

void add_streams_rm_command(CLI::App& streams) {
  auto options = std::make_shared<RmOptions>();
  auto* command = streams.add_subcommand(
      "rm", "Remove a stream with its messages and durables (asks first; --yes to skip)");
  add_broker_options(*command, options->broker);
  command->add_option("name", options->name, "Stream name")->required();
  command->add_flag("--yes,-y", options->yes, "Remove without asking");
  command->add_flag("--json", options->json, "One JSON object: removed (the name), messages");
  command->callback([options] { run(*options); });
}

}  // namespace fleet::cli
