#include "msgpack_json.hpp"

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace fleet::schemas::detail {
namespace {

// RFC 3629 UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF): exactly what
// nlohmann::json::dump() accepts, so a string that passes here never makes dump() throw.
bool valid_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    std::size_t extra = 0;
    unsigned char low = 0x80, high = 0xbf;  // allowed range of the first continuation byte
    if (lead < 0x80) {
      ++i;
      continue;
    } else if (lead >= 0xc2 && lead <= 0xdf) {
      extra = 1;
    } else if (lead >= 0xe0 && lead <= 0xef) {
      extra = 2;
      if (lead == 0xe0) low = 0xa0;
      if (lead == 0xed) high = 0x9f;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      extra = 3;
      if (lead == 0xf0) low = 0x90;
      if (lead == 0xf4) high = 0x8f;
    } else {
      return false;
    }
    if (text.size() - i <= extra) return false;
    for (std::size_t k = 1; k <= extra; ++k) {
      const auto c = static_cast<unsigned char>(text[i + k]);
      const unsigned char lo = k == 1 ? low : 0x80, hi = k == 1 ? high : 0xbf;
      if (c < lo || c > hi) return false;
    }
    i += extra + 1;
  }
  return true;
}

nlohmann::json binary(const char* data, std::uint32_t size) {
  const auto* begin = reinterpret_cast<const std::uint8_t*>(data);
  return nlohmann::json::binary(std::vector<std::uint8_t>(begin, begin + size));
}

std::string key_text(const msgpack::object& key) {
  if (key.type == msgpack::type::STR) {
    std::string_view text(key.via.str.ptr, key.via.str.size);
    if (valid_utf8(text)) return std::string(text);
  }
  // A key holding a map or array would be rendered as the dump of its own keys, each escaped
  // again one level up: the text doubles per level, so 30 nested levels in 100 bytes of input
  // would take gigabytes. JSON has no such keys; refuse them.
  if (key.type == msgpack::type::MAP || key.type == msgpack::type::ARRAY) {
    throw std::invalid_argument("a map key is a " + std::string(kind_name(key)) +
                                "; only scalar keys have a JSON form");
  }
  return to_json(key).dump();
}

}  // namespace

std::string_view kind_name(const msgpack::object& object) {
  switch (object.type) {
    case msgpack::type::NIL:
      return "nil";
    case msgpack::type::BOOLEAN:
      return "boolean";
    case msgpack::type::POSITIVE_INTEGER:
      return "positive integer";
    case msgpack::type::NEGATIVE_INTEGER:
      return "negative integer";
    case msgpack::type::FLOAT32:
      return "float32";
    case msgpack::type::FLOAT64:
      return "float64";
    case msgpack::type::STR:
      return "str";
    case msgpack::type::BIN:
      return "bin";
    case msgpack::type::ARRAY:
      return "array";
    case msgpack::type::MAP:
      return "map";
    case msgpack::type::EXT:
      return "ext";
  }
  return "unknown";
}

nlohmann::json to_json(const msgpack::object& object) {
  switch (object.type) {
    case msgpack::type::NIL:
      return nullptr;
    case msgpack::type::BOOLEAN:
      return object.via.boolean;
    case msgpack::type::POSITIVE_INTEGER:
      return object.via.u64;
    case msgpack::type::NEGATIVE_INTEGER:
      return object.via.i64;
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64:
      return object.via.f64;
    case msgpack::type::STR: {
      std::string_view text(object.via.str.ptr, object.via.str.size);
      if (valid_utf8(text)) return std::string(text);
      return binary(object.via.str.ptr, object.via.str.size);
    }
    case msgpack::type::BIN:
      return binary(object.via.bin.ptr, object.via.bin.size);
    case msgpack::type::EXT: {
      auto value = binary(object.via.ext.data(), object.via.ext.size);
      value.get_binary().set_subtype(static_cast<std::uint8_t>(object.via.ext.type()));
      return value;
    }
    case msgpack::type::ARRAY: {
      auto array = nlohmann::json::array();
      for (std::uint32_t i = 0; i < object.via.array.size; ++i) {
        array.push_back(to_json(object.via.array.ptr[i]));
      }
      return array;
    }
    case msgpack::type::MAP: {
      auto map = nlohmann::json::object();
      for (std::uint32_t i = 0; i < object.via.map.size; ++i) {
        const auto& pair = object.via.map.ptr[i];
        map.emplace(key_text(pair.key), to_json(pair.val));
      }
      return map;
    }
  }
  return nullptr;
}

}  // namespace fleet::schemas::detail
