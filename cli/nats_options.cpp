#include "nats_options.hpp"

#include "fleet/broker/jetstream.hpp"

namespace fleet::cli {

void add_nats_options(CLI::App& command, NatsOptions& options) {
  command.add_option("--nats", options.url, "NATS server URL(s), comma-separated")
      ->envname("FLEET_NATS_URL")
      ->capture_default_str();
}

std::unique_ptr<broker::Transport> connect_or_throw(const NatsOptions& options) {
  auto transport = broker::jetstream::connect({.url = options.url, .name = "fleet-cli"});
  if (!transport) {
    throw CommandError("cannot connect to " + options.url + ": " + transport.error().message);
  }
  return std::move(*transport);
}

}  // namespace fleet::cli
