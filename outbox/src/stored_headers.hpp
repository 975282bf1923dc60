// Headers are stored as text, one `Name: value` line each — the layout NATS itself puts on the
// wire — so the relay republishes exactly what the appending transaction wrote, an operator can
// read a row with any SQL client, and reading it back costs a scan rather than a JSON parse.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "fleet/error.hpp"
#include "fleet/headers.hpp"

namespace fleet::outbox {

// Errc::invalid_argument when a name or value holds CR or LF (NATS headers cannot carry them),
// or a name is empty or holds ':'.
Result<std::string> headers_to_text(const Headers& headers);
Result<Headers> headers_from_text(std::string_view text);

// Milliseconds since the Unix epoch, as stored in the time columns.
std::int64_t to_millis(std::chrono::system_clock::time_point time);
std::chrono::system_clock::time_point from_millis(std::int64_t millis);

}  // namespace fleet::outbox
