#include "broker_options.hpp"

#include "fleet/flags/transport.hpp"

namespace fleet::cli {

void add_broker_options(CLI::App& command, BrokerOptions& options) {
  flags::add_transport_flags(command, options.connection);
}

std::unique_ptr<broker::Transport> connect_or_throw(const BrokerOptions& options) {
  auto transport = broker::connect(options.connection);
  if (!transport) {
    throw CommandError("cannot connect to " + broker::describe(options.connection) + ": " +
                       transport.error().message);
  }
  return std::move(*transport);
}

}  // namespace fleet::cli
