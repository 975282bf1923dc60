#include "fleet/schemas/codec.hpp"

#include <algorithm>
#include <new>
#include <optional>
#include <utility>
#include <vector>

#include "msgpack_json.hpp"

namespace fleet::schemas::detail {
namespace {

// msgpack's size_overflow exceptions do not carry the offending size; this second, read-only
// pass finds it so the error can say "array of 70000 elements exceeds limit of 10000". It only
// runs after a failed unpack and allocates nothing per element.
struct LimitScan : msgpack::null_visitor {
  explicit LimitScan(const DecodeLimits& limits) : limits(limits) {}

  bool visit_str(const char*, std::uint32_t size) {
    return within(size, limits.max_str, "string of ", " bytes");
  }
  bool visit_bin(const char*, std::uint32_t size) {
    return within(size, limits.max_bin, "binary of ", " bytes");
  }
  bool visit_ext(const char*, std::uint32_t size) {
    return within(size, limits.max_ext, "extension of ", " bytes");
  }
  bool start_array(std::uint32_t size) {
    return within(size, limits.max_array, "array of ", " elements") && enter();
  }
  bool start_map(std::uint32_t size) {
    return within(size, limits.max_map, "map of ", " pairs") && enter();
  }
  bool end_array() { return --open, true; }
  bool end_map() { return --open, true; }

  bool within(std::size_t size, std::size_t limit, const char* what, const char* unit) {
    if (size <= limit) return true;
    found = what + std::to_string(size) + unit + " exceeds limit of " + std::to_string(limit);
    return false;
  }
  bool enter() {
    // Mirrors msgpack's check: the root plus `open` containers must stay within max_depth.
    if (open >= limits.max_depth) {
      found = "nesting deeper than limit of " + std::to_string(limits.max_depth);
      return false;
    }
    ++open;
    return true;
  }

  const DecodeLimits& limits;
  std::size_t open = 0;
  std::optional<std::string> found;
};

std::string explain_overflow(std::string_view bytes, const DecodeLimits& limits,
                             std::string fallback) {
  LimitScan scan(limits);
  std::size_t offset = 0;
  try {
    msgpack::parse(bytes.data(), bytes.size(), offset, scan);
  } catch (const std::exception&) {
    // The scan is only for the message; the decode has already failed.
  }
  return scan.found.value_or(std::move(fallback));
}

bool key_equals(const msgpack::object& key, std::string_view name) {
  return key.type == msgpack::type::STR &&
         std::string_view(key.via.str.ptr, key.via.str.size) == name;
}

bool has_key(const msgpack::object& map, std::string_view name) {
  for (std::uint32_t i = 0; i < map.via.map.size; ++i) {
    if (key_equals(map.via.map.ptr[i].key, name)) return true;
  }
  return false;
}

constexpr std::size_t kMinFirstChunk = 512;
constexpr std::size_t kMaxFirstChunk = 64 * 1024;

}  // namespace

Result<msgpack::object_handle> unpack(std::string_view bytes, const DecodeLimits& limits) {
  if (bytes.empty()) return fail(Errc::decode, "empty body");
  if (bytes.size() > limits.max_bytes) {
    return fail(Errc::decode, "body of " + std::to_string(bytes.size()) +
                                  " bytes exceeds limit of " + std::to_string(limits.max_bytes));
  }
  const msgpack::unpack_limit limit(limits.max_array, limits.max_map, limits.max_str,
                                    limits.max_bin, limits.max_ext, limits.max_depth);
  std::size_t offset = 0;
  try {
    // No reference callback: strings are copied into the handle's zone, so it outlives `bytes`.
    // The zone starts about as big as a typical event needs (it grows when a body needs more):
    // msgpack's default 8 KiB chunk per decode costs more in malloc than the decode itself.
    auto zone = std::make_unique<msgpack::zone>(std::min<std::size_t>(
        kMaxFirstChunk, std::max<std::size_t>(kMinFirstChunk, 2 * bytes.size())));
    msgpack::object object =
        msgpack::unpack(*zone, bytes.data(), bytes.size(), offset, nullptr, nullptr, limit);
    msgpack::object_handle handle(object, std::move(zone));
    if (offset != bytes.size()) {
      return fail(Errc::decode,
                  "trailing bytes after value: " + std::to_string(bytes.size() - offset));
    }
    return handle;
  } catch (const msgpack::insufficient_bytes&) {
    return fail(Errc::decode, "truncated msgpack");
  } catch (const msgpack::parse_error&) {
    return fail(Errc::decode, "malformed msgpack");
  } catch (const msgpack::size_overflow& e) {
    return fail(Errc::decode,
                explain_overflow(bytes, limits, std::string("limit exceeded: ") + e.what()));
  } catch (const msgpack::unpack_error& e) {
    return fail(Errc::decode, std::string("malformed msgpack: ") + e.what());
  } catch (const std::bad_alloc&) {
    return fail(Errc::decode,
                "out of memory while decoding " + std::to_string(bytes.size()) + " bytes");
  } catch (const std::exception& e) {
    return fail(Errc::decode, std::string("msgpack: ") + e.what());
  }
}

Result<std::vector<std::string>> required_keys(const msgpack::object& packed_default,
                                               std::span<const std::string_view> optional) {
  if (packed_default.type != msgpack::type::MAP) {
    return fail(Errc::internal, "event type does not pack to a map (use MSGPACK_DEFINE_MAP)");
  }
  std::vector<std::string> keys;
  for (std::uint32_t i = 0; i < packed_default.via.map.size; ++i) {
    const auto& key = packed_default.via.map.ptr[i].key;
    if (key.type != msgpack::type::STR) continue;
    std::string_view name(key.via.str.ptr, key.via.str.size);
    // A default std::optional packs as nil: such a field may be absent.
    if (packed_default.via.map.ptr[i].val.type == msgpack::type::NIL) continue;
    if (std::find(optional.begin(), optional.end(), name) != optional.end()) continue;
    keys.emplace_back(name);
  }
  return keys;
}

Status check_required_keys(const msgpack::object& object,
                           const Result<std::vector<std::string>>& required) {
  if (object.type != msgpack::type::MAP) {
    return fail(Errc::decode, "expected a map, got " + std::string(kind_name(object)));
  }
  if (!required) return fail(required.error());
  std::vector<std::string_view> missing;
  for (const auto& name : *required) {
    if (!has_key(object, name)) missing.push_back(name);
  }
  if (missing.empty()) return {};
  std::string message =
      missing.size() == 1 ? "missing required field " : "missing required fields ";
  for (std::size_t i = 0; i < missing.size(); ++i) {
    if (i > 0) message += ", ";
    message += "'" + std::string(missing[i]) + "'";
  }
  return fail(Errc::decode, std::move(message));
}

Error conversion_error(const msgpack::object& object, std::string_view what,
                       void (*convert)(const msgpack::object&)) {
  if (object.type == msgpack::type::MAP) {
    for (std::uint32_t i = 0; i < object.via.map.size; ++i) {
      const auto& pair = object.via.map.ptr[i];
      if (pair.key.type != msgpack::type::STR) {
        return Error{Errc::decode,
                     "map key is " + std::string(kind_name(pair.key)) + ", not a string"};
      }
      // A one-field map converts that field alone; the others keep their defaults.
      msgpack::object_kv single = pair;
      msgpack::object probe;
      probe.type = msgpack::type::MAP;
      probe.via.map.size = 1;
      probe.via.map.ptr = &single;
      try {
        convert(probe);
      } catch (const std::exception&) {
        return Error{Errc::decode, "field '" +
                                       std::string(pair.key.via.str.ptr, pair.key.via.str.size) +
                                       "' has the wrong type or range (got " +
                                       std::string(kind_name(pair.val)) + ")"};
      }
    }
  }
  return Error{Errc::decode, "cannot convert: " + std::string(what)};
}

Error for_type(std::string_view type_name, Error error) {
  error.message = std::string(type_name) + ": " + error.message;
  return error;
}

}  // namespace fleet::schemas::detail
