// What a JetStream transport connects to and how (plain data: no cnats here). Filled by the
// flags (fleet/flags/nats.hpp) and handed to jetstream::connect (fleet/broker/jetstream.hpp,
// library fleet::broker_jetstream) or, through TransportConfig, to broker::connect.
#pragma once

#include <chrono>
#include <functional>
#include <string>

namespace fleet::broker::jetstream {

// How the connection proves who it is and checks the server. Empty fields are not used. The
// secrets are never logged.
struct Credentials {
  std::string user, password;  // user/password authentication
  std::string token;           // token authentication
  std::string creds_file;      // NATS .creds file (JWT + NKey seed)
  std::string ca_file;         // PEM CA bundle to verify the server; implies TLS
  std::string cert_file;       // PEM client certificate (with key_file); implies TLS
  std::string key_file;        // PEM client private key
  bool tls = false;            // TLS with the system's trusted CAs
};

enum class ConnectionEvent { disconnected, reconnected };
// Called on a cnats thread; `server` is the address (without credentials) now in use, or the one
// just lost. Not called while the transport is being destroyed.
using ConnectionListener = std::function<void(ConnectionEvent, const std::string& server)>;

struct Config {
  std::string url = "nats://127.0.0.1:4222";  // comma-separated server list allowed
  std::string name = "fleet";                 // connection name shown by the server
  // Async publishes awaiting acks; publish_async blocks beyond it (up to request_timeout).
  int max_in_flight = 4'096;
  std::chrono::milliseconds connect_timeout{2'000};
  // Wait after a failed pass over the server list: doubles from reconnect_wait up to
  // max_reconnect_wait, plus up to 100 ms of jitter so a fleet of workers does not reconnect
  // in lockstep.
  std::chrono::milliseconds reconnect_wait{250};
  std::chrono::milliseconds max_reconnect_wait{4'000};
  int max_reconnect = -1;                            // -1 = keep trying forever
  std::chrono::milliseconds request_timeout{5'000};  // JetStream API calls (stream/consumer info)
  int reconnect_buffer_bytes = 64 << 20;  // publishes buffered while reconnecting (cnats: 8 MiB)
  // Write each publish and ack to the socket at once (cnats' SendAsap). By default cnats' flusher
  // thread gathers writes and waits 1 ms before each flush: fewer system calls under heavy load,
  // but up to 1 ms added to every hop of a chain of events (a saga step is two hops), which is
  // why the worker sends a handler's publishes itself when its binding is not busy
  // (Transport::send_now).
  bool send_asap = false;
  // When > 0, every stream and KV bucket this transport creates gets this many replicas,
  // whatever its own config says: 3 on a 3-node cluster. 0 = as each config says (1).
  int replicas = 0;
  Credentials credentials;
  ConnectionListener on_connection_event;  // optional
};

}  // namespace fleet::broker::jetstream
