// Subject patterns as JetStream reads them: `.`-separated tokens, `*` matches one token, a final
// `>` matches one or more. Shared by every transport that filters by subject itself (memory,
// Kafka) and by the dead-letter tooling.
#pragma once

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

}  // namespace fleet::broker
