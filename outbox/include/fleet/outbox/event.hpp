// What a business transaction appends to the outbox, and what the relay reads back.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "fleet/broker/message.hpp"
#include "fleet/schemas/envelope.hpp"

namespace fleet::outbox {

// One event to publish once the caller's transaction commits. The envelope is the same as every
// other fleet publish: `meta` becomes the headers, `body` is the msgpack of the typed event and
// `meta.id` is the broker dedup id.
struct OutboxEvent {
  std::string subject;  // usually domain_subject(domain, event name)
  schemas::Metadata meta;
  std::string body;  // msgpack bytes
};

// A stored, unsent event claimed by a relay.
struct PendingEvent {
  std::int64_t row = 0;  // the outbox row id (commit order is not id order on PostgreSQL)
  int attempts = 0;      // failed publish attempts so far
  // When the row was appended (the database's clock): the relay's lag is measured from here.
  std::chrono::system_clock::time_point created_at{};
  broker::Message message;
};

}  // namespace fleet::outbox
