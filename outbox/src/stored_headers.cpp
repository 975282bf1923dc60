#include "stored_headers.hpp"

namespace fleet::outbox {

Result<std::string> headers_to_text(const Headers& headers) {
  std::string text;
  for (const auto& [name, value] : headers) {
    if (name.empty() || name.find_first_of(":\r\n") != std::string::npos ||
        value.find_first_of("\r\n") != std::string::npos) {
      return fail(Errc::invalid_argument, "header " + name + " cannot travel on NATS");
    }
    text.append(name).append(": ").append(value).append("\n");
  }
  return text;
}

Result<Headers> headers_from_text(std::string_view text) {
  Headers headers;
  while (!text.empty()) {
    const auto end = text.find('\n');
    const auto line = text.substr(0, end);
    const auto colon = line.find(": ");
    if (colon == std::string_view::npos || colon == 0) {
      return fail(Errc::decode, "stored header line without 'Name: value'");
    }
    headers.emplace(std::string(line.substr(0, colon)), std::string(line.substr(colon + 2)));
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return headers;
}

std::int64_t to_millis(std::chrono::system_clock::time_point time) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
}

std::chrono::system_clock::time_point from_millis(std::int64_t millis) {
  return std::chrono::system_clock::time_point(std::chrono::milliseconds(millis));
}

}  // namespace fleet::outbox
