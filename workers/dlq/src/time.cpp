#include "fleet/dlq/time.hpp"

#include <cctype>
#include <charconv>

#include "fleet/schemas/rfc3339.hpp"

namespace fleet::dlq {
namespace {

using namespace std::chrono;

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

Result<Time> parse_rfc3339(std::string_view text) {
  return schemas::parse_rfc3339(text);
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
  return schemas::format_rfc3339_seconds(time);
}

}  // namespace fleet::dlq
