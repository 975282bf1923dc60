// The operator command line as a library. `fleet` is run() with fleet's own event types and
// commands; an application builds its own operator command from the same commands by adding its
// event types (so `publish` checks them, `dlq show` renders them, `schemas list/check/golden`
// know them) and its own subcommands (read models, domain views).
//
// run() parses and runs on the calling thread; the commands read application() while it runs.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "fleet/schemas/registry.hpp"

namespace fleet::cli {

// A read model that counts sagas by status: `status --summary-db PATH` shows it as SAGAS.
struct SagaSummary {
  std::string help;  // the --summary-db option's help text
  std::string env;   // environment variable with the default path ("" = none)
  // Counts by status, or nullopt when the file cannot be read (the section is then left out).
  std::function<std::optional<std::map<std::string, std::uint64_t>>(const std::string& path)>
      counts;
};

struct Application {
  // Program name at the start of every error line ("fleet: error: ...").
  std::string name = "fleet";
  // The first line of --help.
  std::string description = "fleet: publish events, inspect streams and operate a fleet of workers";
  // The event types every command knows. Default: fleet's own (Registry::builtin()); an
  // application copies that and adds its own.
  schemas::Registry event_types = schemas::Registry::builtin();
  // The application's own subcommands, each added to the command line before parsing.
  std::vector<std::function<void(CLI::App&)>> commands;
  // When set, `status` takes --summary-db and shows sagas by status from this read model.
  std::optional<SagaSummary> saga_summary;
};

// Adds fleet's commands and the application's, parses argv and runs the chosen command. Returns
// the exit code: 0, 1 for a failed operation, 2 for bad usage; errors are one line on stderr.
int run(const Application& application, int argc, char** argv);

// The application run() is running; fleet's own (a default Application) outside run().
const Application& application();

}  // namespace fleet::cli
