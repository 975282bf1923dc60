// fleet dlq list: one line per dead letter, oldest first.
#include <iomanip>
#include <iostream>

#include <nlohmann/json.hpp>

#include "dlq_commands.hpp"
#include "fleet/dlq/time.hpp"

namespace fleet::cli {
namespace {

struct ListOptions {
  DlqOptions dlq;
  FilterOptions filter;
  bool json = false;
};

std::string cut(std::string text, std::size_t width) {
  if (text.size() <= width) return text;
  text.resize(width - 3);
  return text + "...";
}

std::string when(const dlq::DeadLetter& entry) {
  return entry.failed_at ? dlq::format_time(*entry.failed_at) : "-";
}

void run(const ListOptions& options) {
  const dlq::Filter filter = to_filter(options.filter);
  auto transport = connect_or_throw(options.dlq.nats);
  auto store = open_store(*transport, options.dlq);
  const auto entries = load(*store, options.dlq, filter);
  if (options.json) {
    std::cout << dlq_json(entries).dump(2) << "\n";
    return;
  }
  std::cout << std::left << std::setw(8) << "SEQ" << std::setw(22) << "FAILED AT" << std::setw(28)
            << "SUBJECT" << std::setw(24) << "TYPE" << std::setw(12) << "ERROR" << std::setw(42)
            << "MESSAGE" << std::setw(9) << "ATTEMPTS"
            << "ROLE\n";
  for (const auto& e : entries) {
    std::cout << std::setw(8) << e.sequence << std::setw(22) << when(e) << std::setw(28)
              << cut(e.original_subject, 27) << std::setw(24) << cut(e.type, 23) << std::setw(12)
              << cut(e.error_class, 11) << std::setw(42) << cut(e.error_message, 41) << std::setw(9)
              << e.attempts << e.role << "\n";
  }
  std::cout << entries.size() << " entries\n";
}

}  // namespace

nlohmann::json dlq_json(const std::vector<dlq::DeadLetter>& entries) {
  auto all = nlohmann::json::array();
  for (const auto& e : entries) {
    all.push_back({{"seq", e.sequence},
                   {"failed_at", e.failed_at ? dlq::format_time(*e.failed_at) : ""},
                   {"subject", e.original_subject},
                   {"id", e.id},
                   {"type", e.type},
                   {"schema_version", e.schema_version},
                   {"error_class", e.error_class},
                   {"error_message", e.error_message},
                   {"attempts", e.attempts},
                   {"role", e.role},
                   {"replay_count", e.replay_count}});
  }
  return all;
}

void add_dlq_list_command(CLI::App& dlq) {
  auto options = std::make_shared<ListOptions>();
  auto* command = dlq.add_subcommand("list", "List dead letters, oldest first");
  add_dlq_options(*command, options->dlq);
  add_filter_options(*command, options->filter);
  command->add_flag("--json", options->json, "One JSON array instead of a table");
  command->callback([options] { run(*options); });
}

}  // namespace fleet::cli
