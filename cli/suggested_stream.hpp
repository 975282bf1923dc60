// The stream to suggest when none captures a subject (Transport::stream_for_subject): `fleet
// publish` names the fix instead of the broker's "no responders".
#pragma once

#include <string>

#include "fleet/broker/config.hpp"

namespace fleet::cli {

// The stream `fleet streams add` should create for `subject`: named after its first token in
// upper case ("orders.placed" -> ORDERS), capturing "<first token>.>" (or the subject itself
// when it has one token).
broker::StreamConfig suggested_stream(const std::string& subject);

// `fleet streams add ORDERS --subjects 'orders.>'`, ready to paste.
std::string streams_add_command(const broker::StreamConfig& stream);

}  // namespace fleet::cli
