// fleet dlq stats: counts per group; --fail-above turns it into a depth alert for cron.
#include <iomanip>
#include <iostream>

#include "dlq_commands.hpp"
#include "fleet/dlq/stats.hpp"
#include "fleet/dlq/time.hpp"

namespace fleet::cli {
namespace {

struct StatsOptions {
  DlqOptions dlq;
  FilterOptions filter;
  std::string by = "subject";
  long long fail_above = -1;
  bool json = false;
};

dlq::GroupBy group_by(const std::string& by) {
  if (by == "error") return dlq::GroupBy::error;
  if (by == "type") return dlq::GroupBy::type;
  if (by == "role") return dlq::GroupBy::role;
  return dlq::GroupBy::subject;
}

std::string when(const std::optional<dlq::Time>& t) {
  return t ? dlq::format_time(*t) : "-";
}

void run(const StatsOptions& options) {
  const dlq::Filter filter = to_filter(options.filter);
  auto transport = connect_or_throw(options.dlq.nats);
  auto store = open_store(*transport, options.dlq);
  const auto entries = load(*store, options.dlq, filter);
  const auto groups = dlq::group(entries, group_by(options.by));
  if (options.json) {
    auto all = nlohmann::json::array();
    for (const auto& g : groups) {
      all.push_back({{"key", g.key},
                     {"count", g.count},
                     {"oldest", when(g.oldest)},
                     {"newest", when(g.newest)}});
    }
    std::cout
        << nlohmann::json{{"total", entries.size()}, {"by", options.by}, {"groups", all}}.dump(2)
        << "\n";
  } else {
    std::cout << std::left << std::setw(8) << "COUNT" << std::setw(22) << "OLDEST" << std::setw(22)
              << "NEWEST" << options.by << "\n";
    for (const auto& g : groups) {
      std::cout << std::setw(8) << g.count << std::setw(22) << when(g.oldest) << std::setw(22)
                << when(g.newest) << g.key << "\n";
    }
    std::cout << "total " << entries.size() << "\n";
  }
  if (options.fail_above >= 0 && entries.size() > static_cast<std::size_t>(options.fail_above)) {
    throw CommandError(options.dlq.stream + " holds " + std::to_string(entries.size()) +
                           " entries, above " + std::to_string(options.fail_above),
                       3);
  }
}

}  // namespace

void add_dlq_stats_command(CLI::App& dlq) {
  auto options = std::make_shared<StatsOptions>();
  auto* command =
      dlq.add_subcommand("stats", "Count dead letters per subject, error, type or role");
  add_dlq_options(*command, options->dlq);
  add_filter_options(*command, options->filter);
  command->add_option("--by", options->by, "Group by")
      ->check(CLI::IsMember({"subject", "error", "type", "role"}))
      ->capture_default_str();
  command
      ->add_option("--fail-above", options->fail_above,
                   "Exit 3 when more than this many entries match (a cron alert)")
      ->check(CLI::NonNegativeNumber);
  command->add_flag("--json", options->json, "One JSON object");
  command->callback([options] { run(*options); });
}

}  // namespace fleet::cli
