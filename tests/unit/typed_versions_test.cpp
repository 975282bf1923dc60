// typed<T>() reads the envelope's schema version: old events reach the handler upcast, events
// from a newer producer are dead-lettered as decode failures with the reason, unhandled.
#include <doctest/doctest.h>

#include <string>

#include "fleet/runtime/handler.hpp"
#include "shipment_history.hpp"

namespace {

using fleet::runtime::Context;
using fleet::runtime::Outcome;
using fleet::test::Shipment;

fleet::schemas::Envelope envelope(std::uint32_t version, std::string body) {
  return {.meta = fleet::schemas::new_metadata(std::string(Shipment::type_name), version),
          .body = std::move(body)};
}

}  // namespace

TEST_CASE("a typed handler gets an event of an older version upcast, with the renamed field") {
  std::vector<Shipment> seen;
  auto handler = fleet::runtime::typed<Shipment>([&](const Shipment& shipment, Context&) {
    seen.push_back(shipment);
    return Outcome::ok();
  });
  const auto old = envelope(1, fleet::schemas::encode(fleet::test::ShipmentV1{
                                   .order_id = "o-1", .courier = "ups", .weight_kg = 2}));
  Context context(old.meta, 1, "unit");
  CHECK(handler(old, context).succeeded());
  REQUIRE(seen.size() == 1);
  CHECK(seen[0] == Shipment{.order_id = "o-1", .carrier = "ups", .weight_grams = 2000});
}

TEST_CASE("a typed handler refuses an event of a newer version: permanent, class decode, reason") {
  int calls = 0;
  auto handler = fleet::runtime::typed<Shipment>([&](const Shipment&, Context&) {
    ++calls;
    return Outcome::ok();
  });
  // The bytes would decode as v3; the version says they mean something this code does not know.
  const auto future =
      envelope(4, fleet::schemas::encode(Shipment{.order_id = "o-1", .carrier = "ups"}));
  Context context(future.meta, 1, "unit");
  const auto outcome = handler(future, context);
  CHECK(calls == 0);
  CHECK(outcome.kind == Outcome::Kind::permanent);
  CHECK(outcome.error_class == "decode");
  CHECK(outcome.message == "test.Shipment: schema version 4 is newer than this worker's 3");
}
