#include "fleet/runtime/dead_letter.hpp"

#include "fleet/schemas/envelope.hpp"

namespace fleet::runtime {
namespace {

// What a trimmed copy keeps of the error message: enough to recognise it; the worker's log line
// has the whole text.
constexpr std::size_t trimmed_reason_bytes = 32;

// `text` cut to at most `bytes` without splitting a UTF-8 sequence.
std::string cut(std::string text, std::size_t bytes) {
  if (text.size() <= bytes) return text;
  std::size_t end = bytes;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  text.resize(end);
  return text;
}

}  // namespace

broker::StreamConfig DeadLetterConfig::stream_config() const {
  return {.name = stream, .subjects = {subject_prefix + ">"}};
}

broker::Message dead_letter_message(const DeadLetterConfig& config,
                                    const broker::Delivery& delivery, const Failure& failure,
                                    Trim trim) {
  const auto& original = delivery.message();
  const std::string now = schemas::now_rfc3339();
  broker::Message message;
  message.subject = config.subject_prefix + original.subject;
  message.headers = original.headers;
  if (trim != Trim::body) message.body = original.body;
  message.key = original.key;
  message.dedup_id =
      "dlq-" + failure.role + "-" + std::to_string(delivery.sequence()) + "-" + original.subject;
  auto& h = message.headers;
  h[std::string(dlq_header::original_subject)] = original.subject;
  h[std::string(dlq_header::stream_sequence)] = std::to_string(delivery.sequence());
  // A partitioned transport (Kafka) says where it stored the message (Delivery::position), so
  // an operator with kcat finds the original by partition and offset without decoding the
  // sequence, and the runtime needs no knowledge of any transport's sequence encoding.
  // JetStream and memory deliveries carry no position: their entries are unchanged.
  if (const auto& position = delivery.position()) {
    h[std::string(dlq_header::original_partition)] = std::to_string(position->partition);
    h[std::string(dlq_header::original_offset)] = std::to_string(position->offset);
  }
  h[std::string(dlq_header::error_class)] = failure.error_class;
  // Header values are one line; a multi-line exception text would break the header block.
  std::string reason = failure.message;
  for (char& c : reason) {
    if (c == '\r' || c == '\n') c = ' ';
  }
  if (trim != Trim::none) reason = cut(std::move(reason), trimmed_reason_bytes);
  h[std::string(dlq_header::error_message)] = reason;
  h[std::string(dlq_header::attempts)] = std::to_string(delivery.attempt());
  h[std::string(dlq_header::role)] = failure.role;
  if (trim == Trim::none) {
    h[std::string(dlq_header::worker)] = failure.worker;
    h[std::string(dlq_header::first_failed_at)] =
        failure.first_failed_at.empty() ? now : failure.first_failed_at;
    h[std::string(dlq_header::last_failed_at)] = now;
  } else if (trim == Trim::headers) {
    h[std::string(dlq_header::trimmed)] = "headers";
  } else {
    h[std::string(dlq_header::trimmed)] = "headers,body";
    h[std::string(dlq_header::original_body_bytes)] = std::to_string(original.body.size());
  }
  return message;
}

}  // namespace fleet::runtime
