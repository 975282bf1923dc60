// The `fleet dlq` subcommands (one file each) and what they share.
#pragma once

#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "dlq_options.hpp"
#include "fleet/dlq/dead_letter.hpp"

namespace fleet::cli {

void add_dlq_list_command(CLI::App& dlq);
void add_dlq_show_command(CLI::App& dlq);
void add_dlq_stats_command(CLI::App& dlq);
void add_dlq_replay_command(CLI::App& dlq);
void add_dlq_purge_command(CLI::App& dlq);

// The entries as `fleet dlq list --json` prints them.
nlohmann::json dlq_json(const std::vector<dlq::DeadLetter>& entries);

}  // namespace fleet::cli
