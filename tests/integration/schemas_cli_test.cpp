// `fleet schemas` as a user runs it: list the types of this build, check golden files of old
// events (tests/golden/ and folders of one's own), freeze a new golden file.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "fleet/schemas/codec.hpp"
#include "fleet/schemas/events/bench.hpp"
#include "fleet/schemas/golden.hpp"
#include "nats_server.hpp"
#include "order_fulfilment/orders.hpp"
#include "process.hpp"

namespace {

using fleet::test::run;
namespace sch = fleet::schemas;

bool has(const std::string& text, std::string_view needle) {
  return text.find(needle) != std::string::npos;
}

struct GoldenDir {
  GoldenDir() : path(fleet::test::make_temp_dir("fleet-schemas-cli")) {}
  ~GoldenDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
  void write(std::string_view type, std::uint32_t version, const std::string& body) const {
    const auto file = sch::golden_path(path, type, version);
    std::filesystem::create_directories(file.parent_path());
    std::ofstream(file, std::ios::binary) << body;
  }
  std::filesystem::path path;
};

// An OrderPlaced body as a producer that never sent `sku` would write it.
std::string order_without_sku() {
  msgpack::sbuffer buffer;
  msgpack::packer<msgpack::sbuffer> packer(buffer);
  packer.pack_map(5);
  packer.pack("order_id").pack("o-1").pack("customer_id").pack("c-1");
  packer.pack("quantity").pack(1).pack("amount_cents").pack(100).pack("region").pack("north");
  return std::string(buffer.data(), buffer.size());
}

}  // namespace

TEST_CASE("fleet schemas check passes on the repository's golden files") {
  auto text = run({FLEET_DEMO, "schemas", "check", "--dir", FLEET_GOLDEN_DIR});
  CHECK_MESSAGE(text.exit_code == 0, text.out << text.err);
  CHECK(has(text.out, "ok   orders.OrderPlaced v1"));
  CHECK(has(text.out, " golden files, 0 failed"));

  auto json = run({FLEET_DEMO, "schemas", "check", "--dir", FLEET_GOLDEN_DIR, "--json"});
  REQUIRE(json.exit_code == 0);
  const auto report = nlohmann::json::parse(json.out);
  CHECK(report["failed"] == 0);
  CHECK(report["missing"].empty());
  CHECK(report["files"].size() >= 6);
}

TEST_CASE("fleet schemas check exits 1 and names each golden file this build cannot decode") {
  GoldenDir dir;
  dir.write("orders.OrderPlaced", 1, order_without_sku());
  dir.write("orders.OrderPlaced", 2, sch::encode(sch::OrderPlaced{.order_id = "o-2"}));
  dir.write("bench.Payload", 1, sch::encode(sch::Payload{.seq = 1, .data = "fine"}));

  auto text = run({FLEET_DEMO, "schemas", "check", "--dir", dir.path.string()});
  CHECK(text.exit_code == 1);
  CHECK(has(text.out, "ok   bench.Payload v1"));
  CHECK(has(text.out, "FAIL " + (dir.path / "orders.OrderPlaced" / "v1.msgpack").string() +
                          ": orders.OrderPlaced: missing required field 'sku'"));
  CHECK(has(text.out, "orders.OrderPlaced: schema version 2 is newer than this worker's 1"));
  CHECK(has(text.err, "fleet-demo: error: 2 golden files do not decode with this build"));

  auto json = run({FLEET_DEMO, "schemas", "check", "--dir", dir.path.string(), "--json"});
  CHECK(json.exit_code == 1);
  CHECK(nlohmann::json::parse(json.out)["failed"] == 2);
}

TEST_CASE("fleet schemas check refuses a missing or empty folder with exit 2") {
  GoldenDir dir;
  auto empty = run({FLEET_CLI, "schemas", "check", "--dir", dir.path.string()});
  CHECK(empty.exit_code == 2);
  CHECK(has(empty.err, "no golden files under"));
  auto missing = run({FLEET_CLI, "schemas", "check", "--dir", (dir.path / "nope").string()});
  CHECK(missing.exit_code == 2);
  CHECK(has(missing.err, "not a directory"));
}

TEST_CASE("fleet schemas golden freezes the current version once and never overwrites it") {
  GoldenDir dir;
  const std::string order =
      R"({"order_id":"o-9","customer_id":"c-1","sku":"sku-1","quantity":1,"amount_cents":10,"region":"north","currency":"EUR"})";
  auto wrote = run({FLEET_DEMO, "schemas", "golden", "--type", "orders.OrderPlaced", "--data",
                    order, "--dir", dir.path.string()});
  REQUIRE_MESSAGE(wrote.exit_code == 0, wrote.err);
  std::ifstream in(sch::golden_path(dir.path, "orders.OrderPlaced", 1), std::ios::binary);
  const std::string body{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  auto decoded = sch::decode<sch::OrderPlaced>(1, body);
  REQUIRE(decoded.has_value());
  CHECK(decoded->currency == "EUR");

  auto again = run({FLEET_DEMO, "schemas", "golden", "--type", "orders.OrderPlaced", "--data",
                    order, "--dir", dir.path.string()});
  CHECK(again.exit_code == 2);
  CHECK(has(again.err, "already exists"));
  auto bad = run({FLEET_DEMO, "schemas", "golden", "--type", "orders.OrderPlaced", "--data",
                  R"({"order_id":"o-9"})", "--dir", dir.path.string()});
  CHECK(bad.exit_code == 2);
  CHECK(has(bad.err, "missing required fields"));
}

TEST_CASE("fleet schemas golden --json names the file it wrote, its version and size") {
  GoldenDir dir;
  auto wrote = run({FLEET_CLI, "schemas", "golden", "--type", "bench.Payload", "--data",
                    R"({"seq":1,"data":"x"})", "--dir", dir.path.string(), "--json"});
  REQUIRE_MESSAGE(wrote.exit_code == 0, wrote.err);
  const auto report = nlohmann::json::parse(wrote.out);
  const auto file = sch::golden_path(dir.path, "bench.Payload", 1);
  CHECK(report["wrote"] == file.string());
  CHECK(report["type"] == "bench.Payload");
  CHECK(report["schema_version"] == 1);
  CHECK(report["bytes"] == std::filesystem::file_size(file));
}

TEST_CASE("fleet schemas list shows each type's version, required and optional fields") {
  auto listed = run({FLEET_DEMO, "schemas", "list", "--json"});
  REQUIRE(listed.exit_code == 0);
  bool found = false;
  for (const auto& type : nlohmann::json::parse(listed.out)) {
    if (type["type"] != "orders.OrderPlaced") continue;
    found = true;
    CHECK(type["version"] == 1);
    CHECK(type["optional"] == nlohmann::json::array({"currency"}));
    CHECK(type["required"].size() == 6);
  }
  CHECK(found);
}

TEST_CASE("fleet knows only fleet's own event types; the application's command adds its own") {
  auto fleet_types = run({FLEET_CLI, "schemas", "list", "--json"});
  auto demo_types = run({FLEET_DEMO, "schemas", "list", "--json"});
  REQUIRE(fleet_types.exit_code == 0);
  REQUIRE(demo_types.exit_code == 0);
  auto names = [](const std::string& out) {
    std::vector<std::string> all;
    for (const auto& type : nlohmann::json::parse(out)) all.push_back(type["type"]);
    return all;
  };
  CHECK(names(fleet_types.out) == std::vector<std::string>{"bench.Payload", "saga.Lifecycle",
                                                           "saga.StepCommand", "saga.StepReply",
                                                           "saga.StepTimer"});
  CHECK(names(demo_types.out) == std::vector<std::string>{"bench.Payload", "orders.OrderPlaced",
                                                          "saga.Lifecycle", "saga.StepCommand",
                                                          "saga.StepReply", "saga.StepTimer"});
  // fleet reads an application's golden file as an unknown type, and says so.
  auto check = run({FLEET_CLI, "schemas", "check", "--dir", FLEET_GOLDEN_DIR});
  CHECK(check.exit_code == 1);
  CHECK(has(check.out, "unknown event type 'orders.OrderPlaced'"));
}
