// Schema evolution: optional fields, versions with upcasters, refusing versions from the future,
// and the golden files of old events (tests/golden/) that every build must still decode.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "fleet/schemas/codec.hpp"
#include "fleet/schemas/envelope.hpp"
#include "fleet/schemas/golden.hpp"
#include "fleet/schemas/registry.hpp"
#include "order_fulfilment/event_types.hpp"
#include "order_fulfilment/orders.hpp"
#include "shipment_history.hpp"

namespace sch = fleet::schemas;
using fleet::test::Shipment;
using fleet::test::ShipmentV1;
using fleet::test::ShipmentV2;
using sch::OrderPlaced;

namespace {

const std::filesystem::path golden_dir = FLEET_GOLDEN_DIR;

std::string read(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write(const std::filesystem::path& path, const std::string& bytes) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << bytes;
}

template <class... Fields>
std::string pack_map(const Fields&... fields) {
  msgpack::sbuffer buffer;
  msgpack::packer<msgpack::sbuffer> packer(buffer);
  packer.pack_map(sizeof...(Fields));
  (packer.pack(fields.first).pack(fields.second), ...);
  return std::string(buffer.data(), buffer.size());
}

bool contains(const std::string& text, std::string_view needle) {
  return text.find(needle) != std::string::npos;
}

struct TempDir {
  TempDir()
      : path(std::filesystem::temp_directory_path() / ("fleet-golden-" + sch::new_event_id())) {}
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
  std::filesystem::path path;
};

template <class T>
sch::Registry registry_of() {
  sch::Registry registry;
  registry.add<T>();
  return registry;
}

}  // namespace

TEST_CASE("an OrderPlaced written before currency existed still decodes, without a currency") {
  const std::string old = read(golden_dir / "orders.OrderPlaced" / "v1.msgpack");
  auto order = sch::decode<OrderPlaced>(old);
  REQUIRE_MESSAGE(order.has_value(), order.error().message);
  CHECK(order->order_id == "o-golden-1");
  CHECK(order->amount_cents == 4599);
  CHECK_FALSE(order->currency.has_value());

  OrderPlaced with_currency = *order;
  with_currency.currency = "EUR";
  auto back = sch::decode<OrderPlaced>(sch::encode(with_currency));
  REQUIRE(back.has_value());
  CHECK(back->currency == "EUR");
  // A producer that writes nil for an absent value (a Go publisher's nil pointer) reads the same.
  auto nil = sch::decode<OrderPlaced>(
      pack_map(std::pair{"order_id", "o-1"}, std::pair{"customer_id", "c"}, std::pair{"sku", "s"},
               std::pair{"quantity", 1}, std::pair{"amount_cents", 5}, std::pair{"region", "r"},
               std::pair{"currency", msgpack::type::nil_t{}}));
  REQUIRE(nil.has_value());
  CHECK_FALSE(nil->currency.has_value());
}

TEST_CASE("required fields stay required next to optional ones") {
  auto missing = sch::decode<OrderPlaced>(
      pack_map(std::pair{"order_id", "o-1"}, std::pair{"customer_id", "c"},
               std::pair{"quantity", 1}, std::pair{"amount_cents", 5}, std::pair{"region", "r"}));
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().code == fleet::Errc::decode);
  CHECK(missing.error().message == "orders.OrderPlaced: missing required field 'sku'");

  auto wrong = sch::decode<OrderPlaced>(
      pack_map(std::pair{"order_id", "o-1"}, std::pair{"customer_id", "c"}, std::pair{"sku", "s"},
               std::pair{"quantity", 1}, std::pair{"amount_cents", 5}, std::pair{"region", "r"},
               std::pair{"currency", 978}));
  REQUIRE_FALSE(wrong.has_value());
  CHECK(contains(wrong.error().message, "field 'currency' has the wrong type"));
}

TEST_CASE("a declared optional field keeps its default; unknown fields and any order still pass") {
  // Keys in reverse order, one field from the future, `parcels` absent.
  auto shipment =
      sch::decode<Shipment>(pack_map(std::pair{"insured", true}, std::pair{"weight_grams", 1200},
                                     std::pair{"carrier", "dhl"}, std::pair{"order_id", "o-1"}));
  REQUIRE_MESSAGE(shipment.has_value(), shipment.error().message);
  CHECK(*shipment == Shipment{.order_id = "o-1", .carrier = "dhl", .weight_grams = 1200});
  CHECK(shipment->parcels == 1);
}

TEST_CASE("an event of an older schema version is upcast step by step to the current one") {
  const auto v1 = sch::encode(ShipmentV1{.order_id = "o-1", .courier = "ups", .weight_kg = 3});
  const auto v2 = sch::encode(ShipmentV2{.order_id = "o-2", .carrier = "dhl", .weight_kg = 2});
  const Shipment current{.order_id = "o-3", .carrier = "gls", .weight_grams = 10, .parcels = 4};

  auto from_v1 = sch::decode<Shipment>(1, v1);
  REQUIRE_MESSAGE(from_v1.has_value(), from_v1.error().message);
  CHECK(*from_v1 == Shipment{.order_id = "o-1", .carrier = "ups", .weight_grams = 3000});
  auto from_v2 = sch::decode<Shipment>(2, v2);
  REQUIRE(from_v2.has_value());
  CHECK(*from_v2 == Shipment{.order_id = "o-2", .carrier = "dhl", .weight_grams = 2000});
  auto from_v3 = sch::decode<Shipment>(3, sch::encode(current));
  REQUIRE(from_v3.has_value());
  CHECK(*from_v3 == current);

  const auto registry = registry_of<Shipment>();
  auto ran = registry.upcast("test.Shipment", v1, 1);
  REQUIRE(ran.has_value());
  CHECK(ran->applied == std::vector<std::string>{"v1->v2: rename courier to carrier",
                                                 "v2->v3: weight_kg to weight_grams"});
  auto none = registry.upcast("test.Shipment", sch::encode(current), 3);
  REQUIRE(none.has_value());
  CHECK(none->applied.empty());
  CHECK_FALSE(none->body.has_value());  // current bodies are used as they are, not re-encoded
}

TEST_CASE("a schema version newer than this code knows is refused, even when the bytes fit") {
  const Shipment shipment{.order_id = "o-1", .carrier = "ups", .weight_grams = 5};
  auto decoded = sch::decode<Shipment>(4, sch::encode(shipment));
  REQUIRE_FALSE(decoded.has_value());
  CHECK(decoded.error().code == fleet::Errc::decode);
  CHECK(decoded.error().message == "test.Shipment: schema version 4 is newer than this worker's 3");
}

TEST_CASE("an old event whose version has no upcaster fails with the missing step named") {
  const auto v1 = sch::encode(ShipmentV1{.order_id = "o-1", .courier = "ups", .weight_kg = 3});
  auto decoded = sch::decode<fleet::test::ShipmentWithoutUpcaster>(1, v1);
  REQUIRE_FALSE(decoded.has_value());
  CHECK(decoded.error().message ==
        "test.Shipment: schema version 1 cannot be read: no upcaster from v1 to v2");
}

TEST_CASE("a failing upcaster is a decode error naming the upcaster, never an exception") {
  // weight_kg missing: the v2->v3 upcaster refuses; a string weight makes it throw.
  const auto no_weight = pack_map(std::pair{"order_id", "o-1"}, std::pair{"carrier", "ups"});
  auto refused = sch::decode<Shipment>(2, no_weight);
  REQUIRE_FALSE(refused.has_value());
  CHECK(refused.error().message ==
        "test.Shipment: upcaster v2->v3: weight_kg to weight_grams failed: no weight_kg");

  const auto text_weight = pack_map(std::pair{"order_id", "o-1"}, std::pair{"carrier", "ups"},
                                    std::pair{"weight_kg", "heavy"});
  fleet::Result<Shipment> thrown = fleet::fail(fleet::Errc::internal, "not run");
  REQUIRE_NOTHROW(thrown = sch::decode<Shipment>(2, text_weight));
  REQUIRE_FALSE(thrown.has_value());
  CHECK(thrown.error().code == fleet::Errc::decode);
  CHECK(contains(thrown.error().message, "upcaster v2->v3: weight_kg to weight_grams failed"));

  auto garbage = sch::decode<Shipment>(1, "\xc1");
  REQUIRE_FALSE(garbage.has_value());
  CHECK(garbage.error().message == "test.Shipment: malformed msgpack");
}

TEST_CASE("an old event whose map keys are maps, nested deep, is a decode error at once") {
  // {{{...{1: 1}: 1}...: 1}: 1}: 30 levels, each map the key of the one around it. Rendering
  // such keys as JSON text doubles the text per level; it is refused instead.
  std::string bytes;
  for (int level = 0; level < 30; ++level) bytes += '\x81';  // fixmap of one pair: the key next
  bytes += "\x01\x01";                                       // the innermost pair 1: 1
  for (int level = 1; level < 30; ++level) bytes += '\x01';  // each outer pair's value
  auto decoded = sch::decode<Shipment>(1, bytes);
  REQUIRE_FALSE(decoded.has_value());
  CHECK(decoded.error().code == fleet::Errc::decode);
  CHECK(contains(decoded.error().message, "a map key is a map; only scalar keys have a JSON form"));

  const auto registry = registry_of<Shipment>();
  auto shown = registry.to_json("test.Parcel", bytes, 1);
  REQUIRE_FALSE(shown.has_value());
  CHECK(contains(shown.error().message, "a map key is a map"));
}

TEST_CASE("the registry describes how a stored body decodes: version, upcasters, or why not") {
  const auto registry = registry_of<Shipment>();
  const auto v1 = sch::encode(ShipmentV1{.order_id = "o-1", .courier = "ups", .weight_kg = 3});
  const auto old = registry.describe("test.Shipment", v1, 1);
  CHECK(old["version"] == 1);
  CHECK(old["current"] == 3);
  CHECK(old["upcasters"].size() == 2);
  CHECK_FALSE(old.contains("error"));
  // The payload is shown as stored: the old field name, not the upcast one.
  auto shown = registry.to_json("test.Shipment", v1, 1);
  REQUIRE(shown.has_value());
  CHECK((*shown)["courier"] == "ups");

  const auto future = registry.describe("test.Shipment", v1, 9);
  CHECK(future["error"] == "test.Shipment: schema version 9 is newer than this worker's 3");
  CHECK_FALSE(registry.to_json("test.Shipment", v1, 9).has_value());

  const auto unknown = registry.describe("test.Parcel", v1, 1);
  CHECK(unknown["current"].is_null());

  const auto schema = registry.schema("test.Shipment");
  REQUIRE(schema.has_value());
  CHECK(schema->required == std::vector<std::string>{"order_id", "carrier", "weight_grams"});
  CHECK(schema->optional == std::vector<std::string>{"parcels"});
  const auto order = order_fulfilment::event_types().schema("orders.OrderPlaced");
  REQUIRE(order.has_value());
  CHECK(order->optional == std::vector<std::string>{"currency"});
}

TEST_CASE("every golden file under tests/golden decodes with today's code") {
  const auto& registry = order_fulfilment::event_types();
  auto report = sch::check_golden(registry, golden_dir);
  REQUIRE_MESSAGE(report.has_value(), report.error().message);
  for (const auto& file : report->files) {
    CHECK_MESSAGE(file.error.empty(), file.path.string() << ": " << file.error);
  }
  CHECK(report->failed() == 0);
  // Every type has its current version frozen, so the next breaking change is caught.
  CHECK_MESSAGE(report->missing.empty(), "no golden file for: " << report->missing.front());
  CHECK(report->files.size() >= registry.types().size());
}

TEST_CASE("the golden check fails on a breaking change without an upcaster, passes with one") {
  TempDir dir;
  write(sch::golden_path(dir.path, "test.Shipment", 1),
        sch::encode(ShipmentV1{.order_id = "o-1", .courier = "ups", .weight_kg = 3}));

  SUBCASE("field renamed, version left at 1") {
    auto report = sch::check_golden(registry_of<fleet::test::ShipmentRenamedInPlace>(), dir.path);
    REQUIRE(report.has_value());
    REQUIRE(report->failed() == 1);
    CHECK(report->files[0].error == "test.Shipment: missing required field 'carrier'");
  }
  SUBCASE("version bumped to 2, no upcaster") {
    auto report = sch::check_golden(registry_of<fleet::test::ShipmentWithoutUpcaster>(), dir.path);
    REQUIRE(report.has_value());
    REQUIRE(report->failed() == 1);
    CHECK(contains(report->files[0].error, "no upcaster from v1 to v2"));
    CHECK(report->missing == std::vector<std::string>{"test.Shipment v2"});
  }
  SUBCASE("with its upcasters") {
    auto report = sch::check_golden(registry_of<Shipment>(), dir.path);
    REQUIRE(report.has_value());
    CHECK(report->failed() == 0);
    REQUIRE(report->files.size() == 1);
    CHECK(report->files[0].version == 1);
    CHECK(report->files[0].upcasters.size() == 2);
  }
  SUBCASE("files that are not golden files are failures, not skipped") {
    write(dir.path / "test.Shipment" / "latest.msgpack", "x");
    write(dir.path / "test.Parcel" / "v1.msgpack", "x");
    auto report = sch::check_golden(registry_of<Shipment>(), dir.path);
    REQUIRE(report.has_value());
    CHECK(report->failed() == 2);
  }
}
