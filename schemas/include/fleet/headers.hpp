// Message headers as they travel on the broker (NATS headers, Kafka record headers).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace fleet {

// One value per name; names are case-sensitive as on the wire.
using Headers = std::map<std::string, std::string, std::less<>>;

inline std::optional<std::string_view> header(const Headers& headers, std::string_view name) {
  auto it = headers.find(name);
  if (it == headers.end()) return std::nullopt;
  return std::string_view(it->second);
}

}  // namespace fleet
