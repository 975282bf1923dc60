// Registry of known event types: decodes and validates a body by type name, and converts between
// bodies and JSON for display (`fleet dlq show`) and input (`fleet publish --data`).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
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
  // The registry with every event type defined in schemas/ (the demo domain and bench payloads).
  static const Registry& builtin();

  template <Event T>
  void add() {
    Entry entry;
    entry.schema_version = T::schema_version;
    entry.validate = [](std::string_view bytes) -> Status {
      auto decoded = decode<T>(bytes);
      if (!decoded) return fail(std::move(decoded).error());
      return {};
    };
    entries_[std::string(T::type_name)] = std::move(entry);
  }

  bool knows(std::string_view type) const;
  std::vector<std::string> types() const;

  // Checks `body` against the schema of `type`; unknown types fail with Errc::not_found.
  Status validate(std::string_view type, std::string_view body) const;

  // Renders a body as JSON. Known types are validated first; unknown types are rendered from
  // the raw msgpack. Undecodable bytes fail with Errc::decode.
  Result<nlohmann::json> to_json(std::string_view type, std::string_view body) const;

  // Encodes JSON as a msgpack body. Known types must validate (all fields present, right
  // kinds); unknown types are encoded as-is.
  Result<std::string> from_json(std::string_view type, const nlohmann::json& json) const;

 private:
  struct Entry {
    std::uint32_t schema_version = 1;
    std::function<Status(std::string_view)> validate;
  };
  std::map<std::string, Entry, std::less<>> entries_;
};

}  // namespace fleet::schemas
