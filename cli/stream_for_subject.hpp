// Which stream captures a subject, and the stream to suggest when none does: `fleet publish`
// names the fix instead of the broker's "no responders".
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "fleet/broker/config.hpp"
#include "fleet/broker/transport.hpp"

namespace fleet::cli {

// The first stream with a subject pattern matching `subject` (a literal subject), if any.
std::optional<std::string> capturing_stream(const std::vector<broker::StreamInfo>& streams,
                                            const std::string& subject);

// The stream `fleet streams add` should create for `subject`: named after its first token in
// upper case ("orders.placed" -> ORDERS), capturing "<first token>.>" (or the subject itself
// when it has one token).
broker::StreamConfig suggested_stream(const std::string& subject);

// `fleet streams add ORDERS --subjects 'orders.>'`, ready to paste.
std::string streams_add_command(const broker::StreamConfig& stream);

}  // namespace fleet::cli
