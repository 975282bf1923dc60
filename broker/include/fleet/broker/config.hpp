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
  // false: an observer that does not settle what it reads (a progress display, a tail). On
  // JetStream the durable is created with AckPolicy none: the server counts a delivery settled
  // once sent, so nothing is redelivered (a crash skips what was in flight) and settling is a
  // no-op that sends nothing. Kafka and the memory transport ignore it: deliveries are settled
  // as usual there. It cannot change on an existing JetStream durable.
  bool acks = true;
};

}  // namespace fleet::broker
