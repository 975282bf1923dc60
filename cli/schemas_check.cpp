// fleet schemas check: decodes every golden file (DIR/<type>/v<N>.msgpack) with this build, the
// way a worker decodes an event of that version (upcasters included). Exit 1 when one fails.
#include <iostream>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "broker_options.hpp"
#include "fleet/cli/application.hpp"
#include "fleet/schemas/golden.hpp"
#include "schemas_commands.hpp"

namespace fleet::cli {
namespace {

struct CheckOptions {
  std::string dir = default_golden_dir;
  bool json = false;
};

nlohmann::json to_json(const schemas::GoldenReport& report) {
  auto files = nlohmann::json::array();
  for (const auto& file : report.files) {
    nlohmann::json entry{{"path", file.path.string()},
                         {"type", file.type},
                         {"version", file.version},
                         {"upcasters", file.upcasters},
                         {"ok", file.error.empty()}};
    if (!file.error.empty()) entry["error"] = file.error;
    files.push_back(std::move(entry));
  }
  return {{"files", files}, {"failed", report.failed()}, {"missing", report.missing}};
}

void print(const schemas::GoldenReport& report) {
  for (const auto& file : report.files) {
    if (!file.error.empty()) {
      std::cout << "FAIL " << file.path.string() << ": " << file.error << "\n";
      continue;
    }
    std::cout << "ok   " << file.type << " v" << file.version;
    for (const auto& upcaster : file.upcasters) std::cout << " [" << upcaster << "]";
    std::cout << "\n";
  }
  for (const auto& missing : report.missing) {
    std::cout << "note: no golden file of the current version of " << missing
              << " (fleet schemas golden writes one)\n";
  }
  std::cout << report.files.size() << " golden files, " << report.failed() << " failed\n";
}

void run(const CheckOptions& options) {
  auto report = schemas::check_golden(application().event_types, options.dir);
  if (!report) throw CommandError(report.error().message, 2);
  if (report->files.empty()) {
    throw CommandError("no golden files under " + options.dir + " (expected <type>/v<N>.msgpack)",
                       2);
  }
  if (options.json) {
    std::cout << to_json(*report).dump(2) << "\n";
  } else {
    print(*report);
  }
  if (report->failed() > 0) {
    throw CommandError(std::to_string(report->failed()) +
                       " golden files do not decode with this build: old events would be "
                       "dead-lettered (add an upcaster or make the field optional)");
  }
}

}  // namespace

void add_schemas_check_command(CLI::App& schemas) {
  auto options = std::make_shared<CheckOptions>();
  auto* command = schemas.add_subcommand(
      "check",
      "Decode every golden file (DIR/<type>/v<N>.msgpack) as a worker of this build would");
  command->add_option("--dir", options->dir, "Folder of golden files")->capture_default_str();
  command->add_flag("--json", options->json, "One JSON object");
  command->callback([options] { run(*options); });
}

}  // namespace fleet::cli
