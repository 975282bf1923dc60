// Subject patterns as JetStream reads them: `.`-separated tokens, `*` matches one token, a final
// `>` matches one or more. Shared by every transport that filters by subject itself (memory,
// Kafka) and by the dead-letter tooling.
#pragma once

#include <string>
#include <string_view>

namespace fleet::broker {

inline bool subject_matches(std::string_view pattern, std::string_view subject) {
  for (;;) {
    const auto want_end = pattern.find('.');
    const auto got_end = subject.find('.');
    const std::string_view want = pattern.substr(0, want_end);
    const std::string_view got = subject.substr(0, got_end);
    if (want == ">") return !subject.empty();
    if (want != "*" && want != got) return false;
    const bool want_more = want_end != std::string_view::npos;
    const bool got_more = got_end != std::string_view::npos;
    if (want_more != got_more) return false;
    if (!want_more) return true;
    pattern.remove_prefix(want_end + 1);
    subject.remove_prefix(got_end + 1);
  }
}

// Why nothing can be published to `subject`: it is empty, has an empty token ("a..b", "a."), a
// wildcard token ('*', '>': subscribers filter with those, a message has none), whitespace or
// a control character. Empty when `subject` is publishable.
inline std::string unpublishable(std::string_view subject) {
  if (subject.empty()) return "the subject is empty";
  const std::string quoted = "'" + std::string(subject) + "'";
  for (const char c : subject) {
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) {
      return "subject " + quoted + " holds whitespace or a control character";
    }
  }
  for (std::string_view rest = subject;;) {
    const auto end = rest.find('.');
    const std::string_view token = rest.substr(0, end);
    if (token.empty()) return "subject " + quoted + " has an empty token";
    if (token == "*" || token == ">") {
      return "subject " + quoted + " holds a wildcard; publish to a literal subject";
    }
    if (end == std::string_view::npos) return {};
    rest.remove_prefix(end + 1);
  }
}

}  // namespace fleet::broker
