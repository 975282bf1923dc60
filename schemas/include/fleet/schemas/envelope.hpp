// The fleet envelope: metadata travels in broker headers (readable by `nats` CLI and kcat without
// fleet code), the body is the msgpack encoding of one typed event.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "fleet/error.hpp"
#include "fleet/headers.hpp"

namespace fleet::schemas {

// Header names. The event id doubles as the broker dedup id (Nats-Msg-Id on JetStream).
namespace header {
inline constexpr std::string_view id = "Fleet-Id";
inline constexpr std::string_view type = "Fleet-Type";
inline constexpr std::string_view schema_version = "Fleet-Schema-Version";
inline constexpr std::string_view occurred_at = "Fleet-Occurred-At";  // RFC 3339, UTC, ms
inline constexpr std::string_view correlation_id = "Fleet-Correlation-Id";
inline constexpr std::string_view causation_id = "Fleet-Causation-Id";
inline constexpr std::string_view traceparent = "traceparent";  // W3C Trace Context
inline constexpr std::string_view ordering_key = "Fleet-Ordering-Key";
}  // namespace header

// Failure headers on a dead-letter copy (the original's headers are kept beside them), written
// by the worker runtime and read by `fleet dlq`, the nats CLI or kcat.
namespace dlq_header {
inline constexpr std::string_view original_subject = "Fleet-Dlq-Original-Subject";
inline constexpr std::string_view stream_sequence = "Fleet-Dlq-Stream-Sequence";
// Only on a partitioned transport (Kafka), where the sequence encodes partition and offset.
inline constexpr std::string_view original_partition = "Fleet-Dlq-Original-Partition";
inline constexpr std::string_view original_offset = "Fleet-Dlq-Original-Offset";
inline constexpr std::string_view error_class = "Fleet-Dlq-Error-Class";
inline constexpr std::string_view error_message = "Fleet-Dlq-Error-Message";
inline constexpr std::string_view attempts = "Fleet-Dlq-Attempts";
inline constexpr std::string_view role = "Fleet-Dlq-Role";
inline constexpr std::string_view worker = "Fleet-Dlq-Worker";
inline constexpr std::string_view first_failed_at = "Fleet-Dlq-First-Failed-At";
inline constexpr std::string_view last_failed_at = "Fleet-Dlq-Last-Failed-At";
// Only on a copy that had to be cut to fit the broker's message size limit: "headers" (the
// error message shortened; worker and failure times left out) or "headers,body" (also the body
// left out; the original is still at its sequence in its own stream while retention keeps it).
inline constexpr std::string_view trimmed = "Fleet-Dlq-Trimmed";
// With a trimmed body: the size of the original body in bytes.
inline constexpr std::string_view original_body_bytes = "Fleet-Dlq-Original-Body-Bytes";
}  // namespace dlq_header

struct Metadata {
  std::string id;                    // unique per event; 32 lowercase hex chars
  std::string type;                  // e.g. "orders.OrderPlaced"
  std::uint32_t schema_version = 1;  // version of the body's schema for `type`
  std::string occurred_at;           // RFC 3339 UTC with milliseconds
  std::string correlation_id;        // the id of the first event of this conversation
  std::string causation_id;          // the id of the event that caused this one ("" for roots)
  std::string traceparent;           // "00-<32 hex trace id>-<16 hex span id>-01"
  std::string ordering_key;          // events with one key are handled in order ("" = none)
};

struct Envelope {
  Metadata meta;
  std::string body;  // msgpack bytes
};

// A fresh root event: new id, now, correlation id = id, new trace.
Metadata new_metadata(std::string type, std::uint32_t schema_version = 1);

// An event caused by `cause`: new id, same correlation id and trace id, causation id = cause.id,
// new span id, same ordering key unless one is given.
// `id` is the new event's id when given (a deterministic follow-up id), else a fresh one.
Metadata follow_up(const Metadata& cause, std::string type, std::uint32_t schema_version = 1,
                   std::string id = {});

// 32 lowercase hex characters from a thread-local CSPRNG-seeded generator.
std::string new_event_id();
// RFC 3339 UTC timestamp with milliseconds for the current time.
std::string now_rfc3339();

// Id, type and schema version are always written; empty optional fields are left out.
Headers to_headers(const Metadata& meta);
// The same, moving the values out of `meta` (a follow-up's metadata is needed only as headers).
Headers to_headers(Metadata&& meta);
// Fails with Errc::decode, naming the header, when id or type is missing or empty, or the schema
// version is not a number in 1..2^32-1. An absent schema version reads as 1 (non-fleet producers).
Result<Metadata> metadata_from_headers(const Headers& headers);
// The same, reading each header through `headers` (the first value of a name, if present): a
// delivery's headers are read where the transport keeps them, without a copy into Headers.
using HeaderLookup = std::function<std::optional<std::string_view>(std::string_view name)>;
Result<Metadata> metadata_from(const HeaderLookup& headers);

}  // namespace fleet::schemas
