// Headers are stored as one JSON object per row, so the relay republishes exactly what the
// appending transaction wrote, whichever fleet version reads it.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "fleet/error.hpp"
#include "fleet/headers.hpp"

namespace fleet::outbox {

std::string headers_to_json(const Headers& headers);
Result<Headers> headers_from_json(std::string_view json);

// Milliseconds since the Unix epoch, as stored in the time columns.
std::int64_t to_millis(std::chrono::system_clock::time_point time);

}  // namespace fleet::outbox
