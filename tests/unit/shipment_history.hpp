// A made-up event type with a history, for the schema-evolution tests: test.Shipment as written
// by three generations of code.
//   v1: {order_id, courier, weight_kg}
//   v2: courier renamed carrier                         (upcaster v1->v2)
//   v3: weight_kg became weight_grams; parcels added as an optional field with a declared
//       default of 1                                     (upcaster v2->v3)
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <msgpack.hpp>
#include <nlohmann/json.hpp>

#include "fleet/schemas/codec.hpp"

namespace fleet::test {

struct ShipmentV1 {
  static constexpr std::string_view type_name = "test.Shipment";
  static constexpr std::uint32_t schema_version = 1;
  std::string order_id;
  std::string courier;
  std::uint32_t weight_kg = 0;
  MSGPACK_DEFINE_MAP(order_id, courier, weight_kg);
};

struct ShipmentV2 {
  static constexpr std::string_view type_name = "test.Shipment";
  static constexpr std::uint32_t schema_version = 2;
  std::string order_id;
  std::string carrier;
  std::uint32_t weight_kg = 0;
  MSGPACK_DEFINE_MAP(order_id, carrier, weight_kg);
};

inline Status rename_courier(nlohmann::json& body) {
  if (body.contains("courier")) {
    body["carrier"] = std::move(body["courier"]);
    body.erase("courier");
  }
  return {};
}

inline Status kilograms_to_grams(nlohmann::json& body) {
  if (!body.contains("weight_kg")) return fail(Errc::decode, "no weight_kg");
  body["weight_grams"] = body["weight_kg"].get<std::uint64_t>() * 1000;
  body.erase("weight_kg");
  return {};
}

// Today's code.
struct Shipment {
  static constexpr std::string_view type_name = "test.Shipment";
  static constexpr std::uint32_t schema_version = 3;
  static constexpr std::string_view optional_fields[] = {"parcels"};
  static constexpr schemas::Upcaster upcasters[] = {
      {1, "rename courier to carrier", rename_courier},
      {2, "weight_kg to weight_grams", kilograms_to_grams},
  };
  std::string order_id;
  std::string carrier;
  std::uint64_t weight_grams = 0;
  std::uint32_t parcels = 1;
  bool operator==(const Shipment&) const = default;
  MSGPACK_DEFINE_MAP(order_id, carrier, weight_grams, parcels);
};

// The v2 rename done wrong: the version was bumped but no upcaster written.
struct ShipmentWithoutUpcaster {
  static constexpr std::string_view type_name = "test.Shipment";
  static constexpr std::uint32_t schema_version = 2;
  std::string order_id;
  std::string carrier;
  std::uint32_t weight_kg = 0;
  MSGPACK_DEFINE_MAP(order_id, carrier, weight_kg);
};

// The v2 rename done worse: the field renamed and the version left as it was.
struct ShipmentRenamedInPlace {
  static constexpr std::string_view type_name = "test.Shipment";
  static constexpr std::uint32_t schema_version = 1;
  std::string order_id;
  std::string carrier;
  std::uint32_t weight_kg = 0;
  MSGPACK_DEFINE_MAP(order_id, carrier, weight_kg);
};

}  // namespace fleet::test
