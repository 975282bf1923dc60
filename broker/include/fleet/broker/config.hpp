// Stream and consumer configuration. Transports create or update both idempotently.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace fleet::broker {

using std::chrono::milliseconds;

struct StreamConfig {
  std::string name;                        // e.g. "ORDERS"
  std::vector<std::string> subjects;       // e.g. {"orders.>"}; wildcards allowed
  milliseconds duplicate_window{120'000};  // dedup ids remembered this long
  milliseconds max_age{0};                 // 0 = keep forever
  int replicas = 1;                        // R1 embedded, R3 on clusters
  bool memory_storage = false;             // file storage by default (survives restarts)
};

struct ConsumerConfig {
  std::string stream;             // stream the durable reads from
  std::string durable;            // durable name, shared by every process of one role
  std::string filter_subject;     // "" = whole stream; wildcards allowed
  milliseconds ack_wait{30'000};  // unacked deliveries come back after this long
  int max_deliver = -1;           // -1 = unlimited (the runtime counts attempts itself)
  int max_ack_pending = 1'000;    // in-flight cap across all processes of the durable
};

}  // namespace fleet::broker
