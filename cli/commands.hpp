// `fleet` subcommands. Each registers itself on the app and runs when selected.
#pragma once

#include <CLI/CLI.hpp>

namespace fleet::cli {

void add_publish_command(CLI::App& app);
void add_streams_command(CLI::App& app);
void add_status_command(CLI::App& app);
void add_outbox_command(CLI::App& app);
void add_dlq_command(CLI::App& app);
void add_dev_kafka_command(CLI::App& app);
void add_schemas_command(CLI::App& app);

}  // namespace fleet::cli
