// The --nats option every `fleet` subcommand shares, and connecting with it.
#pragma once

#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "fleet/broker/transport.hpp"

namespace fleet::cli {

struct NatsOptions {
  std::string url = "nats://127.0.0.1:4222";  // --nats, or FLEET_NATS_URL
};

void add_nats_options(CLI::App& command, NatsOptions& options);

// Connects or throws CommandError naming the URL and the reason.
std::unique_ptr<broker::Transport> connect_or_throw(const NatsOptions& options);

// A failure to report as one line on stderr with exit code `exit_code`.
struct CommandError : std::runtime_error {
  CommandError(const std::string& message, int exit_code = 1)
      : std::runtime_error(message), exit_code(exit_code) {}
  int exit_code;
};

}  // namespace fleet::cli
