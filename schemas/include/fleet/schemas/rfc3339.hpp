// RFC 3339 times: the envelope's Fleet-Occurred-At, the dead-letter failure times, and the time
// bounds operators type. Parsed and formatted with Howard Hinnant's date library, so impossible
// dates (2026-02-31) are refused instead of rolling over into the next month.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "fleet/error.hpp"

namespace fleet::schemas {

using Time = std::chrono::system_clock::time_point;

// Accepts RFC 3339 section 5.6: "2026-11-25T08:00:00Z", "2026-11-25T10:00:00.5+02:00"; 't',
// 'z' and a space for 'T' too; any number of fraction digits (nanoseconds kept, the rest
// dropped). A leap second ("23:59:60Z", or the same instant in another offset) is accepted and
// clamped to the last nanosecond of 23:59:59 UTC: the system clock has no leap seconds, and the
// clamped time still sorts after every time before it and before the next day. Second 60 at any
// other time is refused. Errc::invalid_argument naming the text and the expected form.
Result<Time> parse_rfc3339(std::string_view text);

// UTC with milliseconds, what the envelope carries: "2026-11-25T08:00:00.123Z". Fixed width, so
// times compare as text.
std::string format_rfc3339(Time time);
// UTC, whole seconds (what operators read in tables): "2026-11-25T08:00:00Z".
std::string format_rfc3339_seconds(Time time);

}  // namespace fleet::schemas
