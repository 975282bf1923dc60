// fleet dlq purge: remove selected dead letters for good. Needs --yes every time.
#include <iostream>

#include <nlohmann/json.hpp>

#include "dlq_commands.hpp"
#include "fleet/dlq/replay.hpp"

namespace fleet::cli {
namespace {

struct PurgeOptions {
  DlqOptions dlq;
  FilterOptions filter;
  bool yes = false;
  bool json = false;
};

void run(const PurgeOptions& options) {
  const dlq::Filter filter = to_filter(options.filter);
  if (!options.yes) throw CommandError("refusing to purge without --yes", 2);
  auto transport = connect_or_throw(options.dlq.nats);
  auto store = open_store(*transport, options.dlq);
  const auto entries = load(*store, options.dlq, filter);
  const auto counts = dlq::purge(*store, entries, std::chrono::seconds(30));
  for (const auto& error : counts.errors) std::cerr << "fleet: " << error << "\n";
  if (options.json) {
    std::cout << nlohmann::json{{"purged", counts.done},
                                {"failed", counts.failed},
                                {"errors", counts.errors}}
                     .dump()
              << "\n";
  } else {
    std::cout << "purged " << counts.done << ", failed " << counts.failed << "\n";
  }
  if (counts.failed > 0) {
    throw CommandError(std::to_string(counts.failed) + " entries were not purged");
  }
}

}  // namespace

void add_dlq_purge_command(CLI::App& dlq) {
  auto options = std::make_shared<PurgeOptions>();
  auto* command = dlq.add_subcommand("purge", "Remove matching dead letters (needs --yes)");
  add_dlq_options(*command, options->dlq);
  add_filter_options(*command, options->filter);
  command->add_flag("--yes,-y", options->yes, "Really remove them");
  command->add_flag("--json", options->json, "One JSON object: purged, failed, errors");
  command->footer(
      "On Kafka (--transport kafka) records cannot be deleted one by one: purge marks each entry "
      "as removed with a record in the companion topic <stream>.removed (e.g. DLQ.removed), and "
      "every `fleet dlq` command skips marked entries. The records stay in the topic (kcat still "
      "shows them) until its retention drops them.");
  command->callback([options] { run(*options); });
}

}  // namespace fleet::cli
