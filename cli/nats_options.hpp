// The NATS connection options every `fleet` subcommand shares (--nats, credentials, TLS; see
// fleet/broker/jetstream_flags.hpp), and connecting with them.
#pragma once

#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "fleet/broker/jetstream.hpp"
#include "fleet/broker/transport.hpp"

namespace fleet::cli {

struct NatsOptions {
  broker::jetstream::Config connection{.name = "fleet-cli"};  // --nats etc., or FLEET_NATS_*
};

void add_nats_options(CLI::App& command, NatsOptions& options);

// Connects or throws CommandError naming the servers (without secrets) and the reason.
std::unique_ptr<broker::Transport> connect_or_throw(const NatsOptions& options);

// A failure to report as one line on stderr with exit code `exit_code`.
struct CommandError : std::runtime_error {
  CommandError(const std::string& message, int exit_code = 1)
      : std::runtime_error(message), exit_code(exit_code) {}
  int exit_code;
};

}  // namespace fleet::cli
