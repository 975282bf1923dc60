// libFuzzer entry point for the envelope: header text as the outbox stores it (one `Name: value`
// line each, the layout NATS puts on the wire), the Metadata read from those headers, and the
// follow-up built from it. Each must return an error value for any input, never crash, leak,
// hit UB or throw; and what fleet writes, fleet must read back unchanged.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fleet/schemas/envelope.hpp"
#include "stored_headers.hpp"

namespace {

void check(bool holds) {
  if (!holds) __builtin_trap();  // the fuzzer records a trap as a crash with its input
}

bool same(const fleet::schemas::Metadata& a, const fleet::schemas::Metadata& b) {
  return a.id == b.id && a.type == b.type && a.schema_version == b.schema_version &&
         a.occurred_at == b.occurred_at && a.correlation_id == b.correlation_id &&
         a.causation_id == b.causation_id && a.traceparent == b.traceparent &&
         a.ordering_key == b.ordering_key;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto headers = fleet::outbox::headers_from_text(text);
  if (!headers) return 0;
  // Headers that may travel on NATS survive the store's text form unchanged.
  if (auto stored = fleet::outbox::headers_to_text(*headers)) {
    auto reread = fleet::outbox::headers_from_text(*stored);
    check(reread.has_value() && *reread == *headers);
  }
  auto meta = fleet::schemas::metadata_from_headers(*headers);
  if (!meta) return 0;
  auto written = fleet::schemas::metadata_from_headers(fleet::schemas::to_headers(*meta));
  check(written.has_value() && same(*written, *meta));
  // A handler's follow-up keeps the correlation id and ordering key of what it received.
  const auto next = fleet::schemas::follow_up(*meta, "fuzz.FollowUp");
  check(next.causation_id == meta->id && next.ordering_key == meta->ordering_key);
  check(fleet::schemas::metadata_from_headers(fleet::schemas::to_headers(next)).has_value());
  return 0;
}
