// JetStream transport (cnats). Owns one NATS connection and one JetStream context.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "fleet/broker/transport.hpp"

namespace fleet::broker::jetstream {

struct Config {
  std::string url = "nats://127.0.0.1:4222";  // comma-separated server list allowed
  std::string name = "fleet";                 // connection name shown by the server
  // Async publishes awaiting acks; publish_async blocks beyond it (up to request_timeout).
  int max_in_flight = 4'096;
  std::chrono::milliseconds connect_timeout{2'000};
  std::chrono::milliseconds reconnect_wait{250};
  int max_reconnect = -1;                            // -1 = keep trying forever
  std::chrono::milliseconds request_timeout{5'000};  // JetStream API calls (stream/consumer info)
  int reconnect_buffer_bytes = 64 << 20;  // publishes buffered while reconnecting (cnats: 8 MiB)
};

// Connects and returns a transport; Errc::unavailable when no server answers.
Result<std::unique_ptr<Transport>> connect(const Config& config);

}  // namespace fleet::broker::jetstream
