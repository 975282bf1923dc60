// libFuzzer entry point: every decoding path fleet runs on broker bytes must return an error
// value for any input, never crash, leak, hit UB, or throw.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fleet/schemas/codec.hpp"
#include "fleet/schemas/events/bench.hpp"
#include "fleet/schemas/registry.hpp"
#include "order_fulfilment/event_types.hpp"
#include "order_fulfilment/orders.hpp"

namespace {

// A type with a history, so the upcast path (msgpack -> JSON -> upcaster -> msgpack) sees
// fuzzed bytes too.
fleet::Status rename_a_to_b(nlohmann::json& body) {
  if (body.contains("a")) {
    body["b"] = std::move(body["a"]);
    body.erase("a");
  }
  return {};
}

struct Renamed {
  static constexpr std::string_view type_name = "fuzz.Renamed";
  static constexpr std::uint32_t schema_version = 2;
  static constexpr fleet::schemas::Upcaster upcasters[] = {{1, "rename a to b", rename_a_to_b}};
  std::string b;
  MSGPACK_DEFINE_MAP(b);
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  (void)fleet::schemas::decode<fleet::schemas::OrderPlaced>(bytes);
  (void)fleet::schemas::decode<fleet::schemas::Payload>(bytes);
  (void)fleet::schemas::decode<Renamed>(1, bytes);
  // A registry with an application's type (examples/order_fulfilment) besides fleet's own.
  const auto& registry = order_fulfilment::event_types();
  for (auto type : {"orders.OrderPlaced", "demo.Unknown"}) {
    // `fleet dlq show` dumps what to_json renders, so the dump must not throw either.
    if (auto rendered = registry.to_json(type, bytes)) (void)rendered->dump();
  }
  return 0;
}
