// RFC 3339 times on Howard Hinnant's date library: impossible dates refused, leap seconds
// clamped, offsets and fractions, and the fixed-width UTC form the envelope carries.
#include <doctest/doctest.h>

#include <chrono>
#include <string>

#include "fleet/dlq/time.hpp"
#include "fleet/schemas/envelope.hpp"
#include "fleet/schemas/rfc3339.hpp"

namespace schemas = fleet::schemas;
using namespace std::chrono;
using namespace std::chrono_literals;

namespace {

schemas::Time at(const char* text) {
  auto t = schemas::parse_rfc3339(text);
  REQUIRE_MESSAGE(t.has_value(), t.error().describe());
  return *t;
}

// Nanoseconds since the epoch, for exact comparisons.
std::int64_t ns(schemas::Time t) {
  return duration_cast<nanoseconds>(t.time_since_epoch()).count();
}

}  // namespace

TEST_CASE("rfc3339: 31 February and other impossible dates are refused, not rolled over") {
  for (const char* impossible :
       {"2026-02-31T00:00:00Z", "2026-02-29T00:00:00Z", "2026-04-31T12:00:00Z",
        "2026-13-01T00:00:00Z", "2026-00-10T00:00:00Z", "2026-11-00T00:00:00Z",
        "2026-11-25T24:00:00Z", "2026-11-25T08:60:00Z"}) {
    CAPTURE(impossible);
    auto parsed = schemas::parse_rfc3339(impossible);
    REQUIRE_FALSE(parsed.has_value());
    CHECK(parsed.error().code == fleet::Errc::invalid_argument);
    CHECK(parsed.error().message.find(impossible) != std::string::npos);
  }
  // The same through the operator's --since / --until parser: no longer 3 March.
  auto since = fleet::dlq::parse_time("2026-02-31T00:00:00Z", at("2026-11-25T08:00:00Z"));
  REQUIRE_FALSE(since.has_value());
  CHECK(since.error().code == fleet::Errc::invalid_argument);
  CHECK(at("2024-02-29T00:00:00Z") + 24h == at("2024-03-01T00:00:00Z"));  // a leap year
}

TEST_CASE("rfc3339: a leap second is accepted and clamped to the end of 23:59:59 UTC") {
  const auto leap = at("2016-12-31T23:59:60Z");
  CHECK(ns(leap) == ns(at("2016-12-31T23:59:59Z")) + 999'999'999);
  CHECK(leap < at("2017-01-01T00:00:00Z"));
  CHECK(at("2016-12-31T23:59:60.5Z") == leap);
  // The same instant written in another offset.
  CHECK(at("2016-12-31T15:59:60-08:00") == leap);
  for (const char* not_leap :
       {"2016-12-31T23:58:60Z", "2016-12-31T12:59:60Z", "2016-12-31T23:59:60+01:00"}) {
    CAPTURE(not_leap);
    auto parsed = schemas::parse_rfc3339(not_leap);
    REQUIRE_FALSE(parsed.has_value());
    CHECK(parsed.error().message.find("leap second") != std::string::npos);
  }
}

TEST_CASE("rfc3339: offsets move the time to UTC") {
  CHECK(at("2026-11-25T08:00:00Z") == at("2026-11-25T10:00:00+02:00"));
  CHECK(at("2026-11-25T08:00:00Z") == at("2026-11-25T02:30:00-05:30"));
  CHECK(at("2026-11-25T08:00:00Z") == at("2026-11-25T08:00:00+00:00"));
  CHECK(at("2026-11-25T08:00:00Z") == at("2026-11-25t08:00:00z"));
  CHECK(at("2026-11-25T08:00:00Z") == at("2026-11-25 08:00:00Z"));
  CHECK(at("2026-01-01T01:00:00+02:00") == at("2025-12-31T23:00:00Z"));  // across a year
}

TEST_CASE("rfc3339: fractional seconds of any length, nanoseconds kept") {
  const auto whole = at("2026-11-25T08:00:00Z");
  CHECK(at("2026-11-25T08:00:00.5Z") - whole == 500ms);
  CHECK(at("2026-11-25T08:00:00.123Z") - whole == 123ms);
  CHECK(ns(at("2026-11-25T08:00:00.123456789Z")) - ns(whole) == 123'456'789);
  CHECK(ns(at("2026-11-25T08:00:00.123456789999Z")) - ns(whole) == 123'456'789);
  CHECK(at("2026-11-25T10:00:00.25+02:00") - whole == 250ms);
}

TEST_CASE("rfc3339: text that is not RFC 3339 is refused with the form expected") {
  for (const char* bad :
       {"", "yesterday", "2026-11-25", "2026-11-25T08:00:00", "2026-11-25T08:00:00Zjunk",
        "2026-1-25T08:00:00Z", "2026-11-25T08:00:00+0200", "2026-11-25T08:00:00.Z",
        "2026-11-25T08:00Z", "2026-11-25X08:00:00Z", "+2026-11-25T08:00:00Z"}) {
    CAPTURE(bad);
    auto parsed = schemas::parse_rfc3339(bad);
    REQUIRE_FALSE(parsed.has_value());
    CHECK(parsed.error().code == fleet::Errc::invalid_argument);
    CHECK(parsed.error().message.find("2026-11-25T08:00:00Z") != std::string::npos);
  }
}

TEST_CASE("rfc3339: times print in UTC, fixed width, and read back the same") {
  const auto t = at("2026-11-25T10:00:00.042+02:00");
  CHECK(schemas::format_rfc3339(t) == "2026-11-25T08:00:00.042Z");
  CHECK(schemas::format_rfc3339_seconds(t) == "2026-11-25T08:00:00Z");
  CHECK(schemas::format_rfc3339(at("2026-01-02T03:04:05Z")) == "2026-01-02T03:04:05.000Z");
  CHECK(at(schemas::format_rfc3339(t).c_str()) == t);
  const std::string now = schemas::now_rfc3339();
  CHECK(now.size() == 24);
  CHECK(schemas::parse_rfc3339(now).has_value());
}
