#include "fleet/runtime/context.hpp"

#include <charconv>
#include <cstdio>

namespace fleet::runtime {
namespace {

// FNV-1a, 64 bit: stable across builds and processes (std::hash is not promised to be).
std::uint64_t fnv1a(std::string_view text, std::uint64_t hash) {
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

}  // namespace

std::string follow_up_id(std::string_view cause_id, std::string_view role, std::size_t n) {
  // The hash of "<cause id>\x1f<role>\x1f<n>", fed piece by piece (FNV-1a is a stream hash),
  // so no seed string is built per follow-up. The ids must never change: a handler re-run
  // after an upgrade has to publish the ids it published before.
  char number[24];
  const auto [end, error] = std::to_chars(number, number + sizeof number, n);
  (void)error;  // 24 digits hold any std::size_t
  const std::string_view digits(number, static_cast<std::size_t>(end - number));
  const auto hash = [&](std::uint64_t h) {
    for (const std::string_view part :
         {cause_id, std::string_view("\x1f"), role, std::string_view("\x1f"), digits}) {
      h = fnv1a(part, h);
    }
    return h;
  };
  const std::uint64_t high = hash(0xcbf29ce484222325ULL);
  const std::uint64_t low = hash(high ^ 0x9e3779b97f4a7c15ULL);
  char id[33];
  std::snprintf(id, sizeof id, "%016llx%016llx", static_cast<unsigned long long>(high),
                static_cast<unsigned long long>(low));
  return std::string(id, 32);
}

void Context::stage(std::string subject, std::string type, std::uint32_t schema_version,
                    std::string body, std::string ordering_key) {
  auto meta = schemas::follow_up(incoming_, std::move(type), schema_version,
                                 follow_up_id(incoming_.id, role_, follow_ups_.size()));
  if (!ordering_key.empty()) meta.ordering_key = std::move(ordering_key);
  broker::Message message;
  message.subject = std::move(subject);
  message.dedup_id = meta.id;
  message.key = meta.ordering_key;
  message.headers = schemas::to_headers(std::move(meta));  // the metadata is not needed after
  message.body = std::move(body);
  follow_ups_.push_back(std::move(message));
}

}  // namespace fleet::runtime
