// The dead-letter copy of a message: original subject under a prefix, original headers and body,
// plus failure headers an operator (and `fleet dlq`) reads without fleet code.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "fleet/broker/config.hpp"
#include "fleet/broker/delivery.hpp"
#include "fleet/schemas/envelope.hpp"

namespace fleet::runtime {

// The failure header names are wire format, beside the envelope's (fleet/schemas/envelope.hpp).
namespace dlq_header = schemas::dlq_header;

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
