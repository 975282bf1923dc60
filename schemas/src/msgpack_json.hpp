// msgpack::object helpers shared by the codec (error messages) and the registry (JSON display).
#pragma once

#include <string_view>

#include <msgpack.hpp>
#include <nlohmann/json.hpp>

namespace fleet::schemas::detail {

// "str", "positive integer", "map", ... for error messages.
std::string_view kind_name(const msgpack::object& object);

// Renders an unpacked (hence depth- and size-bounded) object as JSON that always dumps:
// - bin becomes a JSON binary value (dump() shows {"bytes":[...],"subtype":null}); ext becomes a
//   binary value whose subtype is the ext type;
// - a str that is not valid UTF-8 is rendered like bin, so no byte is lost and dump() never throws;
// - map keys that are not strings are rendered as the dump of their JSON value ("1", "true");
//   on duplicate keys the first wins, as in decode;
// - a map key that is itself a map or array throws std::invalid_argument (JSON has no such key,
//   and rendering nested ones as text grows exponentially with depth).
nlohmann::json to_json(const msgpack::object& object);

}  // namespace fleet::schemas::detail
