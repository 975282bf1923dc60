// Time bounds as operators type them: RFC 3339 ("2026-11-25T08:00:00Z", offsets and fractions
// allowed) or a span back from now ("90s", "30m", "1h", "2d", "1h30m").
#pragma once

#include <string>
#include <string_view>

#include "fleet/dlq/dead_letter.hpp"
#include "fleet/error.hpp"

namespace fleet::dlq {

// Errc::invalid_argument naming what was expected.
Result<Time> parse_time(std::string_view text, Time now);
// RFC 3339 only (what the failure headers hold).
Result<Time> parse_rfc3339(std::string_view text);
// UTC, seconds: "2026-11-25T08:00:00Z".
std::string format_time(Time time);

}  // namespace fleet::dlq
