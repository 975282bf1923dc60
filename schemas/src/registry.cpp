#include "fleet/schemas/registry.hpp"

#include <cstdint>
#include <utility>
#include <vector>

#include "fleet/schemas/events/bench.hpp"
#include "fleet/schemas/events/saga.hpp"
#include "msgpack_json.hpp"

namespace fleet::schemas {
namespace {

Error unknown_type(std::string_view type) {
  return Error{Errc::not_found, "unknown event type '" + std::string(type) + "'"};
}

}  // namespace

const Registry& Registry::builtin() {
  static const Registry registry = [] {
    Registry r;
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

std::optional<Registry::Schema> Registry::schema(std::string_view type) const {
  auto it = entries_.find(type);
  if (it == entries_.end()) return std::nullopt;
  return it->second.schema;
}

Status Registry::validate(std::string_view type, std::string_view body) const {
  auto it = entries_.find(type);
  if (it == entries_.end()) return fail(unknown_type(type));
  return it->second.validate(body);
}

Status Registry::validate(std::string_view type, std::string_view body,
                          std::uint32_t version) const {
  auto upcasted = upcast(type, body, version);
  if (!upcasted) return fail(std::move(upcasted).error());
  auto ok = validate(type, upcasted->body ? std::string_view(*upcasted->body) : body);
  if (!ok && !upcasted->applied.empty()) {
    Error error = std::move(ok).error();
    error.message += " (written as schema version " + std::to_string(version) + ")";
    return fail(std::move(error));
  }
  return ok;
}

Result<Upcasted> Registry::upcast(std::string_view type, std::string_view body,
                                  std::uint32_t version) const {
  auto it = entries_.find(type);
  if (it == entries_.end()) return fail(unknown_type(type));
  return detail::upcast(it->second.schema.history, version, body, DecodeLimits{});
}

Result<nlohmann::json> Registry::to_json(std::string_view type, std::string_view body) const {
  auto it = entries_.find(type);
  return to_json(type, body, it == entries_.end() ? 1 : it->second.schema.history.current);
}

Result<nlohmann::json> Registry::to_json(std::string_view type, std::string_view body,
                                         std::uint32_t version) const {
  if (knows(type)) {
    if (auto ok = validate(type, body, version); !ok) return fail(std::move(ok).error());
  }
  auto handle = detail::unpack(body, DecodeLimits{});
  if (!handle) return fail(std::move(handle).error());
  try {
    return detail::to_json(handle->get());
  } catch (const std::exception& e) {
    return fail(Errc::internal, std::string("rendering msgpack as JSON: ") + e.what());
  }
}

nlohmann::json Registry::describe(std::string_view type, std::string_view body,
                                  std::uint32_t version) const {
  nlohmann::json out{
      {"version", version}, {"current", nullptr}, {"upcasters", nlohmann::json::array()}};
  auto it = entries_.find(type);
  if (it == entries_.end()) return out;
  out["current"] = it->second.schema.history.current;
  auto upcasted = upcast(type, body, version);
  if (!upcasted) {
    out["error"] = upcasted.error().message;
  } else {
    out["upcasters"] = upcasted->applied;
  }
  return out;
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
