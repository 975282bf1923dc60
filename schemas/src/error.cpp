#include "fleet/error.hpp"

namespace fleet {

std::string_view to_string(Errc code) {
  switch (code) {
    case Errc::invalid_argument:
      return "invalid_argument";
    case Errc::decode:
      return "decode";
    case Errc::not_found:
      return "not_found";
    case Errc::timeout:
      return "timeout";
    case Errc::unavailable:
      return "unavailable";
    case Errc::rejected:
      return "rejected";
    case Errc::conflict:
      return "conflict";
    case Errc::io:
      return "io";
    case Errc::internal:
      return "internal";
  }
  // Only reachable through a cast from a bad integer; say so rather than crash.
  return "unknown error";
}

std::string Error::describe() const {
  std::string text(to_string(code));
  if (!message.empty()) {
    text += ": ";
    text += message;
  }
  return text;
}

}  // namespace fleet
