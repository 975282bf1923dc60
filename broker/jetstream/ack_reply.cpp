#include "ack_reply.hpp"

#include <array>
#include <charconv>

namespace fleet::broker::jetstream {
namespace {

bool number(std::string_view token, std::uint64_t& out) {
  if (token.empty()) return false;
  const auto [end, error] = std::from_chars(token.data(), token.data() + token.size(), out);
  return error == std::errc{} && end == token.data() + token.size();
}

}  // namespace

std::optional<AckMetadata> parse_ack_reply(std::string_view reply) {
  constexpr std::string_view prefix = "$JS.ACK.";
  if (!reply.starts_with(prefix)) return std::nullopt;
  reply.remove_prefix(prefix.size());
  std::array<std::string_view, 12> tokens;
  std::size_t count = 0;
  while (!reply.empty()) {
    if (count == tokens.size()) return std::nullopt;
    const auto dot = reply.find('.');
    tokens[count++] = reply.substr(0, dot);
    reply = dot == std::string_view::npos ? std::string_view{} : reply.substr(dot + 1);
  }
  // 7 tokens: stream, consumer, then 5 numbers. 9 or more: domain and account hash first.
  std::size_t first_number = 0;
  if (count == 7) {
    first_number = 2;
  } else if (count >= 9) {
    first_number = 4;
  } else {
    return std::nullopt;
  }
  AckMetadata meta;
  std::uint64_t time_ns = 0;
  if (!number(tokens[first_number], meta.delivered) ||
      !number(tokens[first_number + 1], meta.stream_sequence) ||
      !number(tokens[first_number + 2], meta.consumer_sequence) ||
      !number(tokens[first_number + 3], time_ns) ||
      !number(tokens[first_number + 4], meta.pending)) {
    return std::nullopt;
  }
  return meta;
}

std::string nak_body(std::chrono::milliseconds delay) {
  if (delay.count() <= 0) return "-NAK";
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(delay).count();
  return "-NAK {\"delay\":" + std::to_string(ns) + "}";
}

}  // namespace fleet::broker::jetstream
