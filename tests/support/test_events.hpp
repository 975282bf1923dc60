// Events as the worker and DLQ tests publish them, and reading their headers back.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "fleet/broker/message.hpp"
#include "fleet/schemas/codec.hpp"
#include "fleet/schemas/envelope.hpp"
#include "fleet/schemas/events/bench.hpp"

namespace fleet::test {

// A header's value, "" when absent.
inline std::string header_of(const broker::Message& message, std::string_view name) {
  return std::string(header(message.headers, name).value_or(""));
}

// The event id (Fleet-Id) of a message.
inline std::string id_of(const broker::Message& message) {
  return header_of(message, schemas::header::id);
}

// A fleet event on `subject`: envelope headers, Payload body, dedup id = event id.
inline broker::Message event(const std::string& subject, std::uint64_t seq, std::string data,
                             std::string key = {}) {
  auto meta = schemas::new_metadata(std::string(schemas::Payload::type_name));
  meta.ordering_key = std::move(key);
  return {.subject = subject,
          .headers = schemas::to_headers(meta),
          .body = schemas::encode(schemas::Payload{.seq = seq, .data = std::move(data)}),
          .dedup_id = meta.id};
}

}  // namespace fleet::test
