// The broker options every `fleet` subcommand shares (--transport, --nats and credentials,
// --kafka, --state; see fleet/flags/transport.hpp), and connecting with them.
#pragma once

#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "fleet/broker/connect.hpp"
#include "fleet/broker/transport.hpp"

namespace fleet::cli {

struct BrokerOptions {
  // --transport, --nats etc., --kafka, or FLEET_TRANSPORT / FLEET_NATS_* / FLEET_KAFKA_*.
  broker::TransportConfig connection = [] {
    broker::TransportConfig config;
    broker::set_client_name(config, "fleet-cli");
    return config;
  }();
};

void add_broker_options(CLI::App& command, BrokerOptions& options);

// Connects or throws CommandError naming the broker (without secrets) and the reason.
std::unique_ptr<broker::Transport> connect_or_throw(const BrokerOptions& options);

// A failure to report as one line on stderr with exit code `exit_code`.
struct CommandError : std::runtime_error {
  CommandError(const std::string& message, int exit_code = 1)
      : std::runtime_error(message), exit_code(exit_code) {}
  int exit_code;
};

}  // namespace fleet::cli
