// Typed events <-> msgpack bodies. Decoding treats the bytes as untrusted: it never crashes,
// never allocates without bound, and reports every problem as an Error with Errc::decode.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <msgpack.hpp>

#include "fleet/error.hpp"

namespace fleet::schemas {

// A typed event: a struct with MSGPACK_DEFINE_MAP(...) plus its type name and schema version.
// Every field listed in MSGPACK_DEFINE_MAP is required on decode.
template <class T>
concept Event = std::default_initializable<T> && requires {
  { T::type_name } -> std::convertible_to<std::string_view>;
  { T::schema_version } -> std::convertible_to<std::uint32_t>;
};

// Bounds applied to every decode (defaults fit any fleet event comfortably).
struct DecodeLimits {
  std::size_t max_bytes = 1 << 20;  // whole body
  std::size_t max_array = 10'000;   // elements per array
  std::size_t max_map = 1'000;      // pairs per map
  std::size_t max_str = 1 << 20;    // bytes per string
  std::size_t max_bin = 1 << 20;    // bytes per binary
  std::size_t max_ext = 1 << 16;    // bytes per extension
  std::size_t max_depth = 32;       // nesting
};

template <Event T>
std::string encode(const T& event) {
  msgpack::sbuffer buffer;
  msgpack::pack(buffer, event);
  return std::string(buffer.data(), buffer.size());
}

namespace detail {
// Parses exactly one msgpack value spanning all of `bytes` within `limits`.
Result<msgpack::object_handle> unpack(std::string_view bytes, const DecodeLimits& limits);
// Fails when `object` is not a map or lacks one of the keys that `required` (a map) has.
Status check_required_keys(const msgpack::object& object, const msgpack::object& required);
// Explains why converting the map `object` threw `what`: names the first field that `convert`
// (which converts a map to the event type) rejects on its own, or a non-string key.
Error conversion_error(const msgpack::object& object, std::string_view what,
                       void (*convert)(const msgpack::object&));
// Prefixes the event type so errors read "orders.OrderPlaced: missing required field 'sku'".
Error for_type(std::string_view type_name, Error error);
}  // namespace detail

template <Event T>
Result<T> decode(std::string_view bytes, const DecodeLimits& limits = {}) {
  auto handle = detail::unpack(bytes, limits);
  if (!handle) return fail(detail::for_type(T::type_name, std::move(handle).error()));
  // msgpack keeps defaults for absent keys; compare against the keys a default T packs to.
  msgpack::zone zone;
  msgpack::object required(T{}, zone);
  if (auto ok = detail::check_required_keys(handle->get(), required); !ok) {
    return fail(detail::for_type(T::type_name, std::move(ok).error()));
  }
  try {
    return handle->get().template as<T>();
  } catch (const std::exception& e) {
    auto convert = [](const msgpack::object& object) { (void)object.as<T>(); };
    return fail(
        detail::for_type(T::type_name, detail::conversion_error(handle->get(), e.what(), convert)));
  }
}

}  // namespace fleet::schemas
