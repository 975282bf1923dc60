#include <doctest/doctest.h>

#include <random>
#include <string>

#include "fleet/schemas/codec.hpp"
#include "fleet/schemas/events/bench.hpp"
#include "fleet/schemas/registry.hpp"
#include "order_fulfilment/event_types.hpp"
#include "order_fulfilment/orders.hpp"

namespace sch = fleet::schemas;
using nlohmann::json;
using namespace std::string_literals;

namespace {

// An application's registry: fleet's own types plus the order_fulfilment example's events.
const sch::Registry& registry() {
  return order_fulfilment::event_types();
}

json order_json() {
  return json{{"order_id", "o-1"}, {"customer_id", "c-1"}, {"sku", "sku-1"},
              {"quantity", 3},     {"amount_cents", 1500}, {"region", "north"}};
}

}  // namespace

TEST_CASE("fleet's builtin registry holds fleet's own event types and no application's") {
  const auto& builtin = sch::Registry::builtin();
  CHECK_FALSE(builtin.knows("orders.OrderPlaced"));
  CHECK(builtin.types() == std::vector<std::string>{"bench.Payload", "saga.Lifecycle",
                                                    "saga.StepCommand", "saga.StepReply",
                                                    "saga.StepTimer"});
}

TEST_CASE("an application's registry knows fleet's event types and the ones it added") {
  CHECK(registry().knows("orders.OrderPlaced"));
  CHECK(registry().knows("bench.Payload"));
  CHECK_FALSE(registry().knows("orders.Nope"));
  CHECK(registry().types() == std::vector<std::string>{"bench.Payload", "orders.OrderPlaced",
                                                       "saga.Lifecycle", "saga.StepCommand",
                                                       "saga.StepReply", "saga.StepTimer"});
}

TEST_CASE("validate checks a body against its type and refuses unknown types") {
  const auto body = sch::encode(sch::Payload{.seq = 1, .data = "x"});
  CHECK(registry().validate("bench.Payload", body).has_value());
  auto wrong = registry().validate("orders.OrderPlaced", body);
  REQUIRE_FALSE(wrong.has_value());
  CHECK(wrong.error().code == fleet::Errc::decode);
  auto unknown = registry().validate("demo.Note", body);
  REQUIRE_FALSE(unknown.has_value());
  CHECK(unknown.error().code == fleet::Errc::not_found);
}

TEST_CASE("a known event round trips through from_json and to_json") {
  auto body = registry().from_json("orders.OrderPlaced", order_json());
  REQUIRE(body.has_value());
  auto order = sch::decode<sch::OrderPlaced>(*body);
  REQUIRE(order.has_value());
  CHECK(order->amount_cents == 1500);

  auto rendered = registry().to_json("orders.OrderPlaced", *body);
  REQUIRE(rendered.has_value());
  CHECK(*rendered == order_json());
}

TEST_CASE("from_json rejects a known event with a missing field, naming it") {
  auto document = order_json();
  document.erase("sku");
  auto body = registry().from_json("orders.OrderPlaced", document);
  REQUIRE_FALSE(body.has_value());
  CHECK(body.error().code == fleet::Errc::invalid_argument);
  CHECK(body.error().message.find("missing required field 'sku'") != std::string::npos);
}

TEST_CASE("from_json rejects a known event with a field of the wrong type") {
  for (auto [field, value] :
       {std::pair{"quantity", json("three")}, std::pair{"amount_cents", json(12.5)},
        std::pair{"quantity", json(-1)}, std::pair{"sku", json(7)}}) {
    CAPTURE(field);
    auto document = order_json();
    document[field] = value;
    auto body = registry().from_json("orders.OrderPlaced", document);
    REQUIRE_FALSE(body.has_value());
    CHECK(body.error().code == fleet::Errc::invalid_argument);
    CHECK(body.error().message.find("field '"s + field + "'") != std::string::npos);
  }
  auto not_an_object = registry().from_json("orders.OrderPlaced", json::array({1, 2}));
  REQUIRE_FALSE(not_an_object.has_value());
  CHECK(not_an_object.error().message.find("expected a map") != std::string::npos);
}

TEST_CASE("an unknown type is encoded as given and rendered from raw msgpack") {
  const json note = {{"n", 1}, {"text", "hi"}, {"tags", {"a", "b"}}, {"ratio", 0.5}};
  auto body = registry().from_json("demo.Note", note);
  REQUIRE(body.has_value());
  auto rendered = registry().to_json("demo.Note", *body);
  REQUIRE(rendered.has_value());
  CHECK(*rendered == note);
}

TEST_CASE("binary and non-UTF-8 values render as JSON binaries that always dump") {
  // {"raw": bin[1,2], "bad": str "\xff", 1: nil}
  const auto body = "\x83\xa3raw\xc4\x02\x01\x02\xa3\x62\x61\x64\xa1\xff\x01\xc0"s;
  auto rendered = registry().to_json("demo.Blob", body);
  REQUIRE(rendered.has_value());
  CHECK((*rendered)["raw"].is_binary());
  CHECK((*rendered)["bad"].is_binary());
  CHECK((*rendered)["1"].is_null());
  CHECK(rendered->dump() ==
        R"({"1":null,"bad":{"bytes":[255],"subtype":null},"raw":{"bytes":[1,2],"subtype":null}})");
}

TEST_CASE("to_json refuses bodies that do not decode") {
  auto truncated = registry().to_json("demo.Note", "\x82\xa1"s);
  REQUIRE_FALSE(truncated.has_value());
  CHECK(truncated.error().code == fleet::Errc::decode);

  auto invalid = registry().to_json("orders.OrderPlaced", sch::encode(sch::Payload{}));
  REQUIRE_FALSE(invalid.has_value());
  CHECK(invalid.error().code == fleet::Errc::decode);
}

TEST_CASE("to_json never throws on random bytes and what it renders always dumps") {
  std::mt19937_64 random(7);
  const auto valid = *registry().from_json("orders.OrderPlaced", order_json());
  for (int i = 0; i < 2'000; ++i) {
    std::string bytes = valid;
    for (int flips = 1 + static_cast<int>(random() % 3); flips > 0; --flips) {
      bytes[random() % bytes.size()] = static_cast<char>(random());
    }
    CAPTURE(i);
    for (const char* type : {"orders.OrderPlaced", "demo.Unknown"}) {
      fleet::Result<json> rendered = fleet::fail(fleet::Errc::internal, "not run");
      REQUIRE_NOTHROW(rendered = registry().to_json(type, bytes));
      if (rendered) REQUIRE_NOTHROW((void)rendered->dump());
    }
  }
}
