#include "fleet/schemas/rfc3339.hpp"

#include <date/date.h>

#include <algorithm>
#include <cctype>
#include <optional>
#include <sstream>

namespace fleet::schemas {
namespace {

using namespace std::chrono;

bool is_digit(char c) {
  return std::isdigit(static_cast<unsigned char>(c)) != 0;
}

// RFC 3339's fixed-width grammar, which date::parse alone does not enforce (it reads "2026-1-5"
// and "+0200"). Returns the text rewritten for date::parse: 'T' as the separator, fraction cut
// to nine digits, "Z" as "+00:00"; empty when the shape is wrong. The calendar (month lengths,
// leap years) and the ranges of hour and minute are left to date::parse.
std::string normalised(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS
  constexpr std::string_view shape = "dddd-dd-ddTdd:dd:dd";
  if (s.size() < shape.size()) return {};
  std::string out;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == 'd') {
      if (!is_digit(s[i])) return {};
    } else if (shape[i] == 'T') {
      if (s[i] != 'T' && s[i] != 't' && s[i] != ' ') return {};
    } else if (s[i] != shape[i]) {
      return {};
    }
    out += shape[i] == 'T' ? 'T' : s[i];
  }
  std::size_t pos = shape.size();
  if (pos < s.size() && s[pos] == '.') {
    const std::size_t start = ++pos;
    while (pos < s.size() && is_digit(s[pos])) ++pos;
    if (pos == start) return {};
    out += '.';
    out += s.substr(start, std::min<std::size_t>(pos - start, 9));
  }
  const std::string_view zone = s.substr(pos);
  if (zone == "Z" || zone == "z") return out + "+00:00";
  if (zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') && is_digit(zone[1]) &&
      is_digit(zone[2]) && zone[3] == ':' && is_digit(zone[4]) && is_digit(zone[5])) {
    return out += zone;
  }
  return {};
}

std::optional<date::sys_time<nanoseconds>> parse_normalised(const std::string& text) {
  std::istringstream in(text);
  date::sys_time<nanoseconds> time;
  in >> date::parse("%Y-%m-%dT%H:%M:%S%Ez", time);
  if (in.fail() || in.peek() != std::char_traits<char>::eof()) return std::nullopt;
  return time;
}

}  // namespace

Result<Time> parse_rfc3339(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return fail(Errc::invalid_argument,
                "'" + std::string(text) + "' is not an RFC 3339 time (" + std::string(why) + ")");
  };
  std::string s = normalised(text);
  if (s.empty()) return bad("expected e.g. 2026-11-25T08:00:00Z or 2026-11-25T10:00:00.5+02:00");
  const bool leap_second = s.compare(17, 2, "60") == 0;
  if (leap_second) s.replace(17, 2, "59");
  auto parsed = parse_normalised(s);
  if (!parsed) return bad("no such date or time of day");
  if (leap_second) {
    // A leap second is the 61st second of 23:59 UTC; offsets move it to other local times.
    const auto time_of_day = *parsed - floor<days>(*parsed);
    if (floor<seconds>(time_of_day) != hours(23) + minutes(59) + seconds(59)) {
      return bad("second 60 is only a leap second, at 23:59:60 UTC");
    }
    parsed = floor<seconds>(*parsed) + seconds(1) - nanoseconds(1);
  }
  return time_point_cast<system_clock::duration>(*parsed);
}

std::string format_rfc3339(Time time) {
  const auto ms = floor<milliseconds>(time);
  const auto whole = floor<seconds>(ms);
  const auto millis = (ms - whole).count();
  // Every event's envelope is stamped with the time: the part to the second changes once a
  // second, so it is formatted once per thread and second (date::format goes through a stream).
  thread_local date::sys_seconds cached_second{seconds::min()};
  thread_local std::string cached_text;
  if (whole != cached_second) {
    cached_text = date::format("%FT%T", whole);
    cached_second = whole;
  }
  std::string out;
  out.reserve(cached_text.size() + 5);
  out += cached_text;
  const char fraction[] = {'.', static_cast<char>('0' + millis / 100),
                           static_cast<char>('0' + millis / 10 % 10),
                           static_cast<char>('0' + millis % 10), 'Z'};
  out.append(fraction, sizeof fraction);
  return out;
}

std::string format_rfc3339_seconds(Time time) {
  return date::format("%FT%TZ", floor<seconds>(time));
}

}  // namespace fleet::schemas
