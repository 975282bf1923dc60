#include "fleet/broker/transport_registry.hpp"

#include <map>
#include <mutex>
#include <optional>
#include <utility>

#include "registered_transports.hpp"

namespace fleet::broker {
namespace {

struct Registry {
  std::mutex mutex;
  std::map<std::string, TransportFactory> factories;
};

// Built on first use: registrations run during static initialisation, in any order.
Registry& registry() {
  static Registry instance;
  return instance;
}

}  // namespace

bool register_transport(const std::string& name, TransportFactory factory) {
  auto& r = registry();
  const std::lock_guard lock(r.mutex);
  return r.factories.emplace(name, std::move(factory)).second;
}

std::vector<std::string> registered_transports() {
  auto& r = registry();
  const std::lock_guard lock(r.mutex);
  std::vector<std::string> names;
  for (const auto& [name, factory] : r.factories) names.push_back(name);
  return names;
}

std::optional<TransportFactory> find_transport(const std::string& name) {
  auto& r = registry();
  const std::lock_guard lock(r.mutex);
  const auto found = r.factories.find(name);
  if (found == r.factories.end()) return std::nullopt;
  return found->second;
}

std::vector<TransportFactory> all_transports() {
  auto& r = registry();
  const std::lock_guard lock(r.mutex);
  std::vector<TransportFactory> factories;
  for (const auto& [name, factory] : r.factories) factories.push_back(factory);
  return factories;
}

}  // namespace fleet::broker
