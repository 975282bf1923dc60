#include "nats_options.hpp"

#include "fleet/broker/jetstream_flags.hpp"

namespace fleet::cli {

void add_nats_options(CLI::App& command, NatsOptions& options) {
  broker::jetstream::add_connection_flags(command, options.connection);
}

std::unique_ptr<broker::Transport> connect_or_throw(const NatsOptions& options) {
  auto transport = broker::jetstream::connect(options.connection);
  if (!transport) {
    throw CommandError("cannot connect to " +
                       broker::jetstream::without_secrets(options.connection.url) + ": " +
                       transport.error().message);
  }
  return std::move(*transport);
}

}  // namespace fleet::cli
