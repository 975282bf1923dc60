// What the outbox integration tests share: events, reading back what a stream holds, waiting
// for a condition (a hang guard, not a timing threshold).
#pragma once

#include <doctest/doctest.h>

#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "eventually.hpp"
#include "fleet/broker/jetstream.hpp"
#include "fleet/outbox/event.hpp"
#include "fleet/outbox/store.hpp"
#include "fleet/outbox/subject.hpp"
#include "fleet/schemas/envelope.hpp"

namespace fleet::test {

inline outbox::OutboxEvent outbox_event(const std::string& domain, const std::string& name) {
  return {.subject = *outbox::domain_subject(domain, name),
          .meta = schemas::new_metadata(domain + "." + name),
          .body = std::string("\x81\xa1n\x01", 4)};
}

inline std::unique_ptr<broker::Transport> connect_to(const std::string& url) {
  auto transport = broker::jetstream::connect({.url = url, .name = "outbox-test"});
  REQUIRE(transport.has_value());
  return std::move(*transport);
}

// Every event id stored in `stream`, in stream order, read through a fresh durable.
inline std::vector<std::string> stored_ids(broker::Transport& transport,
                                           const std::string& stream) {
  std::uint64_t expected = 0;
  auto streams = transport.streams();
  REQUIRE(streams.has_value());
  for (const auto& s : *streams) {
    if (s.name == stream) expected = s.messages;
  }
  static int readers = 0;
  broker::ConsumerConfig reader{.stream = stream,
                                .durable = "reader" + std::to_string(++readers),
                                .max_ack_pending = 100'000};
  REQUIRE(transport.ensure_consumer(reader).has_value());
  auto subscription = transport.subscribe(reader);
  REQUIRE(subscription.has_value());
  std::vector<std::string> ids;
  while (ids.size() < expected) {
    auto batch = (*subscription)->fetch(1'000, std::chrono::seconds(2));
    REQUIRE(batch.has_value());
    for (auto& delivery : *batch) {
      ids.push_back(
          delivery.message().dedup_id.empty()
              ? std::string(header(delivery.message().headers, schemas::header::id).value_or(""))
              : delivery.message().dedup_id);
      (void)delivery.ack();
    }
  }
  return ids;
}

// eventually() that also ends, with false, when a check inside `done` fails, so the caller can
// stop and join its relay threads before reporting.
inline bool settles(const std::function<bool()>& done,
                    std::chrono::milliseconds guard = std::chrono::seconds(120)) {
  try {
    return eventually(done, guard);
  } catch (...) {
    return false;
  }
}

inline outbox::Counts counts_of(outbox::OutboxStore& store) {
  auto counts = store.counts();
  REQUIRE(counts.has_value());
  return *counts;
}

}  // namespace fleet::test
