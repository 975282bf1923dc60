#include "fleet/schemas/registry.hpp"

#include <cstdint>
#include <utility>
#include <vector>

#include "fleet/schemas/events/bench.hpp"
#include "fleet/schemas/events/orders.hpp"
#include "fleet/schemas/events/saga.hpp"
#include "msgpack_json.hpp"

namespace fleet::schemas {

const Registry& Registry::builtin() {
  static const Registry registry = [] {
    Registry r;
    r.add<OrderPlaced>();
    r.add<Payload>();
    r.add<StepCommand>();
    r.add<StepReply>();
    r.add<StepTimer>();
    r.add<SagaLifecycle>();
    return r;
  }();
  return registry;
}

bool Registry::knows(std::string_view type) const {
  return entries_.contains(type);
}

std::vector<std::string> Registry::types() const {
  std::vector<std::string> names;
  names.reserve(entries_.size());
  for (const auto& [name, entry] : entries_) names.push_back(name);
  return names;
}

Status Registry::validate(std::string_view type, std::string_view body) const {
  auto it = entries_.find(type);
  if (it == entries_.end()) {
    return fail(Errc::not_found, "unknown event type '" + std::string(type) + "'");
  }
  return it->second.validate(body);
}

Result<nlohmann::json> Registry::to_json(std::string_view type, std::string_view body) const {
  if (knows(type)) {
    if (auto ok = validate(type, body); !ok) return fail(std::move(ok).error());
  }
  auto handle = detail::unpack(body, DecodeLimits{});
  if (!handle) return fail(std::move(handle).error());
  try {
    return detail::to_json(handle->get());
  } catch (const std::exception& e) {
    return fail(Errc::internal, std::string("rendering msgpack as JSON: ") + e.what());
  }
}

Result<std::string> Registry::from_json(std::string_view type, const nlohmann::json& json) const {
  std::string body;
  try {
    const std::vector<std::uint8_t> bytes = nlohmann::json::to_msgpack(json);
    body.assign(bytes.begin(), bytes.end());
  } catch (const std::exception& e) {
    return fail(Errc::invalid_argument, std::string("cannot encode JSON as msgpack: ") + e.what());
  }
  if (knows(type)) {
    // The JSON came from the caller, so a schema mismatch is their mistake, not a decode fault.
    if (auto ok = validate(type, body); !ok)
      return fail(Errc::invalid_argument, ok.error().message);
  }
  return body;
}

}  // namespace fleet::schemas
