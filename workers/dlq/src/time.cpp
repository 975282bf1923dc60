#include "fleet/dlq/time.hpp"

#include <cctype>
#include <charconv>
#include <ctime>

namespace fleet::dlq {
namespace {

using namespace std::chrono;

// Reads exactly `width` digits at `pos`.
bool digits(std::string_view s, std::size_t pos, std::size_t width, int& out) {
  if (pos + width > s.size()) return false;
  out = 0;
  for (std::size_t i = pos; i < pos + width; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

Result<Time> parse_span(std::string_view text, Time now) {
  nanoseconds total{0};
  std::string_view rest = text;
  while (!rest.empty()) {
    std::uint64_t n = 0;
    auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), n);
    if (ec != std::errc() || end == rest.data() + rest.size())
      return fail(Errc::invalid_argument, "");
    const char unit = *end;
    rest.remove_prefix(static_cast<std::size_t>(end - rest.data()) + 1);
    switch (unit) {
      case 's':
        total += seconds(n);
        break;
      case 'm':
        total += minutes(n);
        break;
      case 'h':
        total += hours(n);
        break;
      case 'd':
        total += hours(24 * n);
        break;
      default:
        return fail(Errc::invalid_argument, "");
    }
  }
  return now - duration_cast<system_clock::duration>(total);
}

}  // namespace

Result<Time> parse_rfc3339(std::string_view s) {
  auto bad = [&] {
    return fail(Errc::invalid_argument,
                "'" + std::string(s) + "' is not an RFC 3339 time (2026-11-25T08:00:00Z)");
  };
  int year, month, day, hour, minute, second;
  if (!digits(s, 0, 4, year) || s.size() < 19 || s[4] != '-' || !digits(s, 5, 2, month) ||
      s[7] != '-' || !digits(s, 8, 2, day) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
      !digits(s, 11, 2, hour) || s[13] != ':' || !digits(s, 14, 2, minute) || s[16] != ':' ||
      !digits(s, 17, 2, second)) {
    return bad();
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
    return bad();
  }
  std::size_t pos = 19;
  nanoseconds fraction{0};
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    std::int64_t scale = 100'000'000;
    const std::size_t start = pos;
    while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) {
      fraction += nanoseconds((s[pos] - '0') * scale);
      scale /= 10;
      ++pos;
    }
    if (pos == start) return bad();
  }
  minutes offset{0};
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh, om;
    if (!digits(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !digits(s, pos + 4, 2, om)) {
      return bad();
    }
    offset = hours(oh) + minutes(om);
    if (s[pos] == '-') offset = -offset;
    pos += 6;
  } else {
    return bad();
  }
  if (pos != s.size()) return bad();
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  const Time utc = system_clock::from_time_t(timegm(&tm));
  return utc + duration_cast<system_clock::duration>(fraction) - offset;
}

Result<Time> parse_time(std::string_view text, Time now) {
  if (!text.empty() && std::isdigit(static_cast<unsigned char>(text.front())) &&
      text.find_first_of("-:") == std::string_view::npos) {
    if (auto span = parse_span(text, now)) return span;
  } else if (auto at = parse_rfc3339(text)) {
    return at;
  }
  return fail(Errc::invalid_argument,
              "'" + std::string(text) +
                  "' is not a time: give RFC 3339 (2026-11-25T08:00:00Z) or a span back from now "
                  "(30m, 1h, 2d)");
}

std::string format_time(Time time) {
  const std::time_t t = system_clock::to_time_t(time_point_cast<seconds>(time));
  std::tm utc{};
  gmtime_r(&t, &utc);
  char out[32] = {};
  std::strftime(out, sizeof out, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return out;
}

}  // namespace fleet::dlq
