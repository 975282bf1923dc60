#include "fleet/outbox/subject.hpp"

namespace fleet::outbox {
namespace {

Status check_token(std::string_view what, std::string_view token) {
  if (token.empty()) return fail(Errc::invalid_argument, std::string(what) + " is empty");
  for (char c : token) {
    if (c == '.' || c == '*' || c == '>' || static_cast<unsigned char>(c) <= ' ' || c == 0x7f) {
      return fail(Errc::invalid_argument,
                  std::string(what) + " '" + std::string(token) +
                      "' may not contain '.', '*', '>', spaces or control characters");
    }
  }
  return {};
}

}  // namespace

Result<std::string> domain_subject(std::string_view domain, std::string_view event_name) {
  if (auto ok = check_token("domain", domain); !ok) return fail(ok.error());
  if (auto ok = check_token("event name", event_name); !ok) return fail(ok.error());
  std::string subject = "domain.";
  subject.append(domain).append(".").append(event_name);
  return subject;
}

}  // namespace fleet::outbox
