#include "fleet/dlq/dead_letter.hpp"

#include <charconv>

#include "fleet/dlq/time.hpp"
#include "fleet/schemas/envelope.hpp"

namespace fleet::dlq {
namespace {

std::string text(const Headers& headers, std::string_view name) {
  return std::string(header(headers, name).value_or(""));
}

std::uint64_t number(const Headers& headers, std::string_view name) {
  const auto value = header(headers, name).value_or("");
  std::uint64_t n = 0;
  std::from_chars(value.data(), value.data() + value.size(), n);
  return n;
}

}  // namespace

DeadLetter read_dead_letter(broker::StoredMessage stored, std::string_view subject_prefix) {
  namespace h = schemas::dlq_header;
  DeadLetter entry;
  entry.sequence = stored.sequence;
  entry.message = std::move(stored.message);
  const Headers& headers = entry.message.headers;
  entry.original_subject = text(headers, h::original_subject);
  if (entry.original_subject.empty() && entry.message.subject.starts_with(subject_prefix)) {
    entry.original_subject = entry.message.subject.substr(subject_prefix.size());
  }
  entry.id = text(headers, schemas::header::id);
  entry.type = text(headers, schemas::header::type);
  if (header(headers, schemas::header::schema_version)) {
    const auto version = number(headers, schemas::header::schema_version);
    entry.schema_version = version <= UINT32_MAX ? static_cast<std::uint32_t>(version) : 0;
  }
  entry.error_class = text(headers, h::error_class);
  entry.error_message = text(headers, h::error_message);
  entry.role = text(headers, h::role);
  entry.attempts = number(headers, h::attempts);
  entry.replay_count = number(headers, replay_count_header);
  if (auto at = parse_rfc3339(text(headers, h::last_failed_at))) entry.failed_at = *at;
  return entry;
}

}  // namespace fleet::dlq
