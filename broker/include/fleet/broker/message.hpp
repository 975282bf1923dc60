// What travels through a Transport: raw subject, headers and body. Transports know nothing about
// event types; schemas/ gives the headers and body their meaning.
#pragma once

#include <cstdint>
#include <string>

#include "fleet/headers.hpp"

namespace fleet::broker {

struct Message {
  std::string subject;
  Headers headers;
  std::string body;      // bytes
  std::string dedup_id;  // broker-side dedup (Nats-Msg-Id); "" = none
  std::string key;       // partitioning key (Kafka); "" = none
};

// Confirmation that the broker stored a published message.
struct PublishAck {
  std::string stream;
  std::uint64_t sequence = 0;  // stream sequence (JetStream) or offset (Kafka)
  bool duplicate = false;      // the dedup id was already stored inside the dedup window
};

}  // namespace fleet::broker
