// The `fleet schemas` subcommands, one file each. They need no broker: they read the event types
// built into this binary (fleet::cli::application().event_types) and files on disk.
#pragma once

#include <CLI/CLI.hpp>

namespace fleet::cli {

void add_schemas_list_command(CLI::App& schemas);
void add_schemas_check_command(CLI::App& schemas);
void add_schemas_golden_command(CLI::App& schemas);

// Where golden files live unless --dir says otherwise (relative to the working directory).
inline constexpr const char* default_golden_dir = "tests/golden";

}  // namespace fleet::cli
