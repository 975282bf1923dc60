// Typed events <-> msgpack bodies. Decoding treats the bytes as untrusted: it never crashes,
// never allocates without bound, and reports every problem as an Error with Errc::decode.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <msgpack.hpp>

#include "fleet/error.hpp"
#include "fleet/schemas/upcaster.hpp"

namespace fleet::schemas {

// A typed event: a struct with MSGPACK_DEFINE_MAP(...) plus its type name and schema version.
// Every field listed in MSGPACK_DEFINE_MAP is required on decode, except:
// - `std::optional<T>` members: absent or nil reads as std::nullopt;
// - fields named in `static constexpr std::string_view optional_fields[] = {"currency"};`:
//   absent keeps the member's in-class default.
// A type whose schema changed incompatibly bumps `schema_version` and lists how each older
// version comes up to the next: `static constexpr Upcaster upcasters[] = {{1, "...", fn}};`.
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

namespace detail {
// msgpack's packer writes through this straight into the returned string: no 8 KiB staging
// buffer and no second copy per encoded event.
struct StringWriter {
  std::string& out;
  void write(const char* data, std::size_t size) { out.append(data, size); }
};
}  // namespace detail

template <Event T>
std::string encode(const T& event) {
  std::string out;
  out.reserve(128);
  detail::StringWriter writer{out};
  msgpack::pack(writer, event);
  return out;
}

namespace detail {
// Parses exactly one msgpack value spanning all of `bytes` within `limits`.
Result<msgpack::object_handle> unpack(std::string_view bytes, const DecodeLimits& limits);
// The keys a decoded body must have: those `packed_default` (a map: a default event packed) has,
// other than keys packed as nil (std::optional members) or named in `optional`. Fails
// (Errc::internal) when the event does not pack to a map.
Result<std::vector<std::string>> required_keys(const msgpack::object& packed_default,
                                               std::span<const std::string_view> optional = {});
// Fails when `object` is not a map or lacks one of `required`.
Status check_required_keys(const msgpack::object& object,
                           const Result<std::vector<std::string>>& required);
// Explains why converting the map `object` threw `what`: names the first field that `convert`
// (which converts a map to the event type) rejects on its own, or a non-string key.
Error conversion_error(const msgpack::object& object, std::string_view what,
                       void (*convert)(const msgpack::object&));
// Prefixes the event type so errors read "orders.OrderPlaced: missing required field 'sku'".
Error for_type(std::string_view type_name, Error error);

// Brings `bytes`, written under schema `version`, up to `history.current`. Fails (Errc::decode,
// prefixed with the type) when the version is newer than current ("schema version 3 is newer
// than this worker's 2"), when a step of the chain has no upcaster, or when an upcaster fails.
Result<Upcasted> upcast(const History& history, std::uint32_t version, std::string_view bytes,
                        const DecodeLimits& limits);

template <class T>
std::span<const std::string_view> optional_fields_of() {
  if constexpr (requires { T::optional_fields; }) {
    return T::optional_fields;
  } else {
    return {};
  }
}

// Computed once per event type: packing a default event on every decode would cost a zone and
// an encode per message.
template <class T>
const Result<std::vector<std::string>>& required_keys_of() {
  static const Result<std::vector<std::string>> keys = [] {
    msgpack::zone zone;
    return required_keys(msgpack::object(T{}, zone), optional_fields_of<T>());
  }();
  return keys;
}

template <class T>
std::span<const Upcaster> upcasters_of() {
  if constexpr (requires { T::upcasters; }) {
    return T::upcasters;
  } else {
    return {};
  }
}
}  // namespace detail

template <Event T>
History history_of() {
  return {T::type_name, T::schema_version, detail::upcasters_of<T>()};
}

template <Event T>
Result<T> decode(std::string_view bytes, const DecodeLimits& limits = {}) {
  auto handle = detail::unpack(bytes, limits);
  if (!handle) return fail(detail::for_type(T::type_name, std::move(handle).error()));
  // msgpack keeps defaults for absent keys; compare against the keys a default T packs to.
  if (auto ok = detail::check_required_keys(handle->get(), detail::required_keys_of<T>()); !ok) {
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

// Decodes a body written under schema `version` (the envelope's Fleet-Schema-Version): an older
// version runs the type's upcasters first, a newer one fails with "schema version N is newer than
// this worker's M" instead of being read as if it were current.
template <Event T>
Result<T> decode(std::uint32_t version, std::string_view bytes, const DecodeLimits& limits = {}) {
  if (version == T::schema_version) return decode<T>(bytes, limits);
  auto upcasted = detail::upcast(history_of<T>(), version, bytes, limits);
  if (!upcasted) return fail(std::move(upcasted).error());
  auto decoded = decode<T>(upcasted->body ? std::string_view(*upcasted->body) : bytes, limits);
  if (!decoded) {
    Error error = std::move(decoded).error();
    error.message += " (written as schema version " + std::to_string(version) + ")";
    return fail(std::move(error));
  }
  return decoded;
}

}  // namespace fleet::schemas
