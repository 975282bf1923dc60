// JetStream transport (cnats). Owns one NATS connection and one JetStream context.
// Library fleet::broker_jetstream; linking it registers the transport as "nats" for
// broker::connect (fleet/broker/connect.hpp).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "fleet/broker/jetstream_config.hpp"
#include "fleet/broker/transport.hpp"

namespace fleet::broker::jetstream {

// Connects and returns a transport; Errc::unavailable when no server answers. After that it
// reconnects forever (any server of the list) and reports it to config.on_connection_event.
Result<std::unique_ptr<Transport>> connect(const Config& config);

// The server list without "user:password@" parts, for logs and messages.
std::string without_secrets(std::string_view url_list);

}  // namespace fleet::broker::jetstream
