#include "fleet/schemas/envelope.hpp"

#include <charconv>
#include <chrono>
#include <random>
#include <utility>

#include "fleet/schemas/rfc3339.hpp"

namespace fleet::schemas {
namespace {

std::mt19937_64& generator() {
  // Seeded per thread so ids need no lock; several random_device words so threads cannot share
  // a 32-bit seed and collide.
  thread_local std::mt19937_64 engine = [] {
    std::random_device device;
    std::seed_seq seed{device(), device(), device(), device(),
                       device(), device(), device(), device()};
    return std::mt19937_64(seed);
  }();
  return engine;
}

void append_random_hex(std::string& out, std::size_t words) {
  static constexpr char digits[] = "0123456789abcdef";
  for (std::size_t w = 0; w < words; ++w) {
    auto value = generator()();
    for (int shift = 60; shift >= 0; shift -= 4) out.push_back(digits[(value >> shift) & 0xf]);
  }
}

std::string random_hex(std::size_t words) {
  std::string out;
  out.reserve(words * 16);
  append_random_hex(out, words);
  return out;
}

// W3C Trace Context forbids all-zero trace and span ids.
bool all_zero(std::string_view hex) {
  return hex.find_first_not_of('0') == std::string_view::npos;
}

std::string nonzero_hex(std::size_t words) {
  for (;;) {
    auto hex = random_hex(words);
    if (!all_zero(hex)) return hex;
  }
}

// "00-<trace id>-<new span id>-01", built in one allocation (it is made for every event).
std::string make_traceparent(std::string_view trace_id) {
  std::string out;
  out.reserve(3 + trace_id.size() + 1 + 16 + 3);
  out += "00-";
  out += trace_id;
  out += '-';
  const std::size_t span = out.size();
  do {
    out.resize(span);
    append_random_hex(out, 1);
  } while (all_zero(std::string_view(out).substr(span)));
  out += "-01";
  return out;
}

bool is_lower_hex(std::string_view text) {
  return text.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

// The trace id of a well-formed "00-<32 hex>-<16 hex>-<2 hex>" value, else empty.
std::string_view trace_id_of(std::string_view traceparent) {
  if (traceparent.size() != 55 || !traceparent.starts_with("00-") || traceparent[35] != '-' ||
      traceparent[52] != '-') {
    return {};
  }
  auto trace = traceparent.substr(3, 32);
  if (!is_lower_hex(trace) || trace.find_first_not_of('0') == std::string_view::npos) return {};
  return trace;
}

template <class Text>
void put_optional(Headers& headers, std::string_view name, Text&& value) {
  if (!value.empty()) headers.emplace(name, std::forward<Text>(value));
}

// Both to_headers overloads: `Meta` is const Metadata& (values copied) or Metadata (moved).
template <class Meta>
Headers headers_of(Meta&& meta) {
  Headers headers;
  headers.reserve(8);
  headers.emplace(header::id, std::forward<Meta>(meta).id);
  headers.emplace(header::type, std::forward<Meta>(meta).type);
  headers.emplace(header::schema_version, std::to_string(meta.schema_version));
  put_optional(headers, header::occurred_at, std::forward<Meta>(meta).occurred_at);
  put_optional(headers, header::correlation_id, std::forward<Meta>(meta).correlation_id);
  put_optional(headers, header::causation_id, std::forward<Meta>(meta).causation_id);
  put_optional(headers, header::traceparent, std::forward<Meta>(meta).traceparent);
  put_optional(headers, header::ordering_key, std::forward<Meta>(meta).ordering_key);
  return headers;
}

std::string optional_header(const HeaderLookup& headers, std::string_view name) {
  auto value = headers(name);
  return value ? std::string(*value) : std::string();
}

Result<std::string> required_header(const HeaderLookup& headers, std::string_view name) {
  auto value = headers(name);
  if (!value) return fail(Errc::decode, "missing header " + std::string(name));
  if (value->empty()) return fail(Errc::decode, "empty header " + std::string(name));
  return std::string(*value);
}

Result<std::uint32_t> parse_schema_version(std::string_view text) {
  std::uint32_t version = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), version);
  const std::string quoted =
      "header " + std::string(header::schema_version) + " '" + std::string(text) + "'";
  if (ec == std::errc::result_out_of_range) {
    return fail(Errc::decode, quoted + " is out of range");
  }
  if (ec != std::errc() || end != text.data() + text.size()) {
    return fail(Errc::decode, quoted + " is not a number");
  }
  // Versions count from 1; 0 would mean a producer forgot to set it.
  if (version == 0) return fail(Errc::decode, quoted + " is out of range (versions start at 1)");
  return version;
}

}  // namespace

std::string new_event_id() {
  return random_hex(2);
}

std::string now_rfc3339() {
  return format_rfc3339(std::chrono::system_clock::now());
}

Metadata new_metadata(std::string type, std::uint32_t schema_version) {
  Metadata meta;
  meta.id = new_event_id();
  meta.type = std::move(type);
  meta.schema_version = schema_version;
  meta.occurred_at = now_rfc3339();
  meta.correlation_id = meta.id;
  meta.traceparent = make_traceparent(nonzero_hex(2));
  return meta;
}

Metadata follow_up(const Metadata& cause, std::string type, std::uint32_t schema_version,
                   std::string id) {
  Metadata meta;
  meta.id = id.empty() ? new_event_id() : std::move(id);
  meta.type = std::move(type);
  meta.schema_version = schema_version;
  meta.occurred_at = now_rfc3339();
  // A cause from a non-fleet producer may lack a correlation id; it then starts the conversation.
  meta.correlation_id = cause.correlation_id.empty() ? cause.id : cause.correlation_id;
  meta.causation_id = cause.id;
  const std::string_view trace = trace_id_of(cause.traceparent);
  // No usable trace to join: start one.
  meta.traceparent = trace.empty() ? make_traceparent(nonzero_hex(2)) : make_traceparent(trace);
  meta.ordering_key = cause.ordering_key;
  return meta;
}

Headers to_headers(const Metadata& meta) {
  return headers_of(meta);
}

Headers to_headers(Metadata&& meta) {
  return headers_of(std::move(meta));
}

Result<Metadata> metadata_from_headers(const Headers& headers) {
  return metadata_from([&headers](std::string_view name) { return fleet::header(headers, name); });
}

Result<Metadata> metadata_from(const HeaderLookup& headers) {
  Metadata meta;
  auto id = required_header(headers, header::id);
  if (!id) return fail(std::move(id).error());
  auto type = required_header(headers, header::type);
  if (!type) return fail(std::move(type).error());
  meta.id = std::move(*id);
  meta.type = std::move(*type);
  // Producers outside fleet (nats pub, kcat) rarely set a version; treat absence as the first.
  if (auto version_text = headers(header::schema_version)) {
    auto version = parse_schema_version(*version_text);
    if (!version) return fail(std::move(version).error());
    meta.schema_version = *version;
  }
  meta.occurred_at = optional_header(headers, header::occurred_at);
  meta.correlation_id = optional_header(headers, header::correlation_id);
  meta.causation_id = optional_header(headers, header::causation_id);
  meta.traceparent = optional_header(headers, header::traceparent);
  meta.ordering_key = optional_header(headers, header::ordering_key);
  return meta;
}

}  // namespace fleet::schemas
