// The dead-letter copy of a message: original subject under a prefix, original headers and body,
// plus failure headers an operator (and `fleet dlq`) reads without fleet code.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "fleet/broker/config.hpp"
#include "fleet/broker/delivery.hpp"

namespace fleet::runtime {

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

struct DeadLetterConfig {
  std::string stream = "DLQ";           // created by the worker if missing
  std::string subject_prefix = "dlq.";  // dead-letter subject = prefix + original subject
  std::chrono::milliseconds publish_timeout{5'000};

  broker::StreamConfig stream_config() const;
};

struct Failure {
  std::string error_class;  // "poison", "decode", "permanent", "exception", ...
  std::string message;
  std::string role;
  std::string worker;           // host:pid
  std::string first_failed_at;  // RFC 3339; "" = now
};

// How much of a dead-letter copy is kept. A message near the broker's size limit has no room
// for every failure header: the worker falls back to `headers`, then to `body`, rather than
// lose the event (docs/operations.md, "What fleet promises when things fail").
enum class Trim {
  none,     // every failure header, the full error message, the original body
  headers,  // subject, sequence, error class, attempts, role, error message cut to 32 bytes
  body,     // as `headers`, and the body left out (its size in Fleet-Dlq-Original-Body-Bytes)
};

// The message to publish to the dead-letter stream for `delivery`. Its dedup id is derived from
// the stream sequence and role, so a worker that dies after publishing it and before settling
// the original publishes a duplicate the broker drops.
broker::Message dead_letter_message(const DeadLetterConfig& config,
                                    const broker::Delivery& delivery, const Failure& failure,
                                    Trim trim = Trim::none);

}  // namespace fleet::runtime
