// Registry of known event types: decodes and validates a body by type name and schema version
// (running the type's upcasters for older versions), and converts between bodies and JSON for
// display (`fleet dlq show`) and input (`fleet publish --data`).
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "fleet/error.hpp"
#include "fleet/schemas/codec.hpp"

namespace fleet::schemas {

class Registry {
 public:
  // fleet's own event types: the saga step and lifecycle types and the bench payload. An
  // application registers its own on a copy: `Registry r = Registry::builtin(); r.add<T>();`
  // (examples/order_fulfilment/events/include/order_fulfilment/event_types.hpp).
  static const Registry& builtin();

  // What the registry knows of one type: its current version, its fields and its history.
  struct Schema {
    History history;
    std::vector<std::string> required;  // fields every body must carry
    std::vector<std::string> optional;  // std::optional members and declared `optional_fields`
  };

  template <Event T>
  void add() {
    Entry entry;
    entry.schema.history = history_of<T>();
    msgpack::zone zone;
    const msgpack::object fields(T{}, zone);
    const auto optional = detail::optional_fields_of<T>();
    for (std::uint32_t i = 0; fields.type == msgpack::type::MAP && i < fields.via.map.size; ++i) {
      const auto& [key, value] = fields.via.map.ptr[i];
      if (key.type != msgpack::type::STR) continue;
      std::string name(key.via.str.ptr, key.via.str.size);
      const bool is_optional = value.type == msgpack::type::NIL ||
                               std::find(optional.begin(), optional.end(), name) != optional.end();
      (is_optional ? entry.schema.optional : entry.schema.required).push_back(std::move(name));
    }
    entry.validate = [](std::string_view bytes) -> Status {
      auto decoded = decode<T>(bytes);
      if (!decoded) return fail(std::move(decoded).error());
      return {};
    };
    entries_[std::string(T::type_name)] = std::move(entry);
  }

  bool knows(std::string_view type) const;
  std::vector<std::string> types() const;
  // The schema of `type`, or nullopt when it is not registered.
  std::optional<Schema> schema(std::string_view type) const;

  // Checks `body` against the current schema of `type`; unknown types fail with Errc::not_found.
  Status validate(std::string_view type, std::string_view body) const;
  // Checks a body written under schema `version`: upcasted first when older, refused when newer.
  Status validate(std::string_view type, std::string_view body, std::uint32_t version) const;

  // Brings a body of `type` written under `version` up to the current version (see
  // detail::upcast); Errc::not_found for unknown types.
  Result<Upcasted> upcast(std::string_view type, std::string_view body,
                          std::uint32_t version) const;

  // Renders a body as JSON, as stored (not upcasted). Known types are validated first (at
  // `version`, current when not given); unknown types are rendered from the raw msgpack.
  // Undecodable bytes fail with Errc::decode.
  Result<nlohmann::json> to_json(std::string_view type, std::string_view body) const;
  Result<nlohmann::json> to_json(std::string_view type, std::string_view body,
                                 std::uint32_t version) const;

  // How a body of `type` written under `version` decodes here, for display:
  // {"version": 1, "current": 2, "upcasters": ["v1->v2: rename total to amount_cents"]}, with
  // "error" when it cannot be brought up (too new, a missing upcaster, a failing upcaster);
  // "current" is null for unknown types.
  nlohmann::json describe(std::string_view type, std::string_view body,
                          std::uint32_t version) const;

  // Encodes JSON as a msgpack body. Known types must validate (all fields present, right
  // kinds); unknown types are encoded as-is.
  Result<std::string> from_json(std::string_view type, const nlohmann::json& json) const;

 private:
  struct Entry {
    Schema schema;
    std::function<Status(std::string_view)> validate;  // at the current version
  };
  std::map<std::string, Entry, std::less<>> entries_;
};

}  // namespace fleet::schemas
