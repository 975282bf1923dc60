// The reply subject of a JetStream delivery, read and written by fleet instead of cnats'
// natsMsg_Ack* (which refuse messages that came through a core subscription).
//
// A delivery's reply subject names the consumer and carries its metadata:
//   $JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<time ns>.<pending>
// and, from servers with domains (ADR-15), two more tokens in front and one token at the end:
//   $JS.ACK.<domain>.<account
//   hash>.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ns>.<pending>.<x>
// Settling a delivery is a plain publish of one of the bodies below to that subject.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace fleet::broker::jetstream {

struct AckMetadata {
  std::uint64_t delivered = 0;        // 1 on first delivery
  std::uint64_t stream_sequence = 0;  // the message's sequence in its stream
  std::uint64_t consumer_sequence = 0;
  std::uint64_t pending = 0;  // messages left for the consumer after this one
};

// nullopt when `reply` is not a JetStream ack subject.
std::optional<AckMetadata> parse_ack_reply(std::string_view reply);

inline constexpr std::string_view kAck = "+ACK";
inline constexpr std::string_view kInProgress = "+WPI";
inline constexpr std::string_view kTerminate = "+TERM";
// "-NAK", or "-NAK {"delay":<ns>}" for a redelivery not before `delay`.
std::string nak_body(std::chrono::milliseconds delay);

}  // namespace fleet::broker::jetstream
