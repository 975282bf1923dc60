#include "fleet/schemas/upcaster.hpp"

#include <algorithm>
#include <exception>
#include <utility>

#include "fleet/schemas/codec.hpp"
#include "msgpack_json.hpp"

namespace fleet::schemas {

std::string describe(const Upcaster& upcaster) {
  return "v" + std::to_string(upcaster.from) + "->v" + std::to_string(upcaster.from + 1) + ": " +
         std::string(upcaster.what);
}

namespace detail {
namespace {

const Upcaster* step_from(const History& history, std::uint32_t version) {
  auto it = std::find_if(history.upcasters.begin(), history.upcasters.end(),
                         [&](const Upcaster& u) { return u.from == version && u.apply; });
  return it == history.upcasters.end() ? nullptr : &*it;
}

}  // namespace

Result<Upcasted> upcast(const History& history, std::uint32_t version, std::string_view bytes,
                        const DecodeLimits& limits) {
  auto error = [&](std::string message) {
    return fail(for_type(history.type, Error{Errc::decode, std::move(message)}));
  };
  Upcasted result;
  if (version == history.current) return result;
  if (version > history.current) {
    return error("schema version " + std::to_string(version) + " is newer than this worker's " +
                 std::to_string(history.current));
  }
  // The whole chain must exist before any byte is parsed.
  std::vector<const Upcaster*> chain;
  for (std::uint32_t v = version; v < history.current; ++v) {
    const Upcaster* step = step_from(history, v);
    if (!step) {
      return error("schema version " + std::to_string(version) +
                   " cannot be read: no upcaster from v" + std::to_string(v) + " to v" +
                   std::to_string(v + 1));
    }
    chain.push_back(step);
  }
  auto handle = unpack(bytes, limits);
  if (!handle) return fail(for_type(history.type, std::move(handle).error()));
  if (handle->get().type != msgpack::type::MAP) {
    return error("expected a map, got " + std::string(kind_name(handle->get())));
  }
  nlohmann::json body;
  try {
    body = to_json(handle->get());
  } catch (const std::exception& e) {
    return error(std::string("cannot read body for upcasting: ") + e.what());
  }
  for (const Upcaster* step : chain) {
    Status ok;
    try {
      ok = step->apply(body);
    } catch (const std::exception& e) {
      ok = fail(Errc::decode, e.what());
    }
    if (!ok) return error("upcaster " + describe(*step) + " failed: " + ok.error().message);
    result.applied.push_back(describe(*step));
  }
  try {
    const std::vector<std::uint8_t> packed = nlohmann::json::to_msgpack(body);
    result.body.emplace(packed.begin(), packed.end());
  } catch (const std::exception& e) {
    return error(std::string("cannot encode the upcasted body: ") + e.what());
  }
  return result;
}

}  // namespace detail
}  // namespace fleet::schemas
