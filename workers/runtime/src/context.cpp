#include "fleet/runtime/context.hpp"

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
  const std::string seed =
      std::string(cause_id) + '\x1f' + std::string(role) + '\x1f' + std::to_string(n);
  const std::uint64_t high = fnv1a(seed, 0xcbf29ce484222325ULL);
  const std::uint64_t low = fnv1a(seed, high ^ 0x9e3779b97f4a7c15ULL);
  char id[33];
  std::snprintf(id, sizeof id, "%016llx%016llx", static_cast<unsigned long long>(high),
                static_cast<unsigned long long>(low));
  return id;
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
  message.headers = schemas::to_headers(meta);
  message.body = std::move(body);
  follow_ups_.push_back(std::move(message));
}

}  // namespace fleet::runtime
