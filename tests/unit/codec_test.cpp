#include <doctest/doctest.h>

#include <random>
#include <string>
#include <string_view>

#include "fleet/schemas/codec.hpp"
#include "fleet/schemas/events/bench.hpp"
#include "order_fulfilment/orders.hpp"

namespace sch = fleet::schemas;
using sch::OrderPlaced;
using sch::Payload;
using namespace std::string_literals;

namespace {

OrderPlaced sample_order() {
  return OrderPlaced{.order_id = "order-1",
                     .customer_id = "customer-7",
                     .sku = "sku-3",
                     .quantity = 2,
                     .amount_cents = -1500,
                     .region = "north"};
}

// Packs a map from (key, value) pairs so tests can build bodies the encoder would never make.
template <class... Fields>
std::string pack_map(const Fields&... fields) {
  msgpack::sbuffer buffer;
  msgpack::packer<msgpack::sbuffer> packer(buffer);
  packer.pack_map(sizeof...(Fields));
  (packer.pack(fields.first).pack(fields.second), ...);
  return std::string(buffer.data(), buffer.size());
}

// Decoding untrusted bytes must fail as a value with Errc::decode, never by throwing.
template <class T = OrderPlaced>
std::string expect_decode_error(std::string_view bytes, const sch::DecodeLimits& limits = {}) {
  fleet::Result<T> decoded = fleet::fail(fleet::Errc::internal, "not run");
  REQUIRE_NOTHROW(decoded = sch::decode<T>(bytes, limits));
  REQUIRE_FALSE(decoded.has_value());
  CHECK(decoded.error().code == fleet::Errc::decode);
  return decoded.error().message;
}

bool contains(const std::string& text, std::string_view needle) {
  return text.find(needle) != std::string::npos;
}

}  // namespace

TEST_CASE("an event survives encode and decode unchanged") {
  const auto order = sample_order();
  auto decoded = sch::decode<OrderPlaced>(sch::encode(order));
  REQUIRE(decoded.has_value());
  CHECK(*decoded == order);

  const Payload payload{.seq = 18'446'744'073'709'551'615ull, .data = "a\0b\xff"s};
  auto back = sch::decode<Payload>(sch::encode(payload));
  REQUIRE(back.has_value());
  CHECK(*back == payload);
}

TEST_CASE("decode ignores fields it does not know, so producers can add fields first") {
  auto body = pack_map(std::pair{"seq", 5}, std::pair{"data", "x"}, std::pair{"extra", true});
  auto decoded = sch::decode<Payload>(body);
  REQUIRE(decoded.has_value());
  CHECK(decoded->seq == 5);
}

TEST_CASE("decode reports a missing required field by name") {
  auto body =
      pack_map(std::pair{"order_id", "o"}, std::pair{"customer_id", "c"}, std::pair{"quantity", 1},
               std::pair{"amount_cents", 1}, std::pair{"region", "r"});
  CHECK(expect_decode_error(body) == "orders.OrderPlaced: missing required field 'sku'");

  auto two_missing = pack_map(std::pair{"seq", 1});
  CHECK(contains(expect_decode_error<Payload>(two_missing), "missing required field 'data'"));
  CHECK(contains(expect_decode_error(pack_map(std::pair{"sku", "s"})),
                 "missing required fields 'order_id', 'customer_id'"));
}

TEST_CASE("decode reports a field of the wrong kind by name") {
  SUBCASE("string where a number belongs") {
    auto body = pack_map(std::pair{"seq", "five"}, std::pair{"data", "x"});
    CHECK(expect_decode_error<Payload>(body) ==
          "bench.Payload: field 'seq' has the wrong type or range (got str)");
  }
  SUBCASE("number where a string belongs") {
    auto body = pack_map(std::pair{"seq", 1}, std::pair{"data", 3.5});
    CHECK(contains(expect_decode_error<Payload>(body), "field 'data'"));
  }
  SUBCASE("negative number for an unsigned field") {
    auto body = pack_map(std::pair{"seq", -1}, std::pair{"data", "x"});
    CHECK(contains(expect_decode_error<Payload>(body), "field 'seq'"));
  }
  SUBCASE("number out of range for a 32-bit field") {
    auto order = sample_order();
    auto body =
        pack_map(std::pair{"order_id", order.order_id}, std::pair{"customer_id", order.customer_id},
                 std::pair{"sku", order.sku}, std::pair{"quantity", 5'000'000'000ull},
                 std::pair{"amount_cents", 1}, std::pair{"region", order.region});
    CHECK(contains(expect_decode_error(body), "field 'quantity'"));
  }
  SUBCASE("a non-string key") {
    auto body = pack_map(std::pair{"seq", 1}, std::pair{"data", "x"}, std::pair{7, 7});
    CHECK(contains(expect_decode_error<Payload>(body), "map key is positive integer"));
  }
}

TEST_CASE("decode rejects an empty body") {
  CHECK(contains(expect_decode_error(""), "empty body"));
}

TEST_CASE("decode rejects a body truncated at every prefix length") {
  const auto body = sch::encode(sample_order());
  for (std::size_t length = 1; length < body.size(); ++length) {
    CAPTURE(length);
    expect_decode_error(std::string_view(body).substr(0, length));
  }
  CHECK(contains(expect_decode_error(body.substr(0, body.size() - 1)), "truncated msgpack"));
}

TEST_CASE("decode rejects trailing bytes after the value") {
  const auto body = sch::encode(sample_order()) + "\xc0\xc0"s;
  CHECK(contains(expect_decode_error(body), "trailing bytes after value: 2"));
}

TEST_CASE("decode rejects a top-level value that is not a map") {
  CHECK(contains(expect_decode_error("\x92\x01\x02"s), "expected a map, got array"));
  CHECK(contains(expect_decode_error("\x01"s), "expected a map, got positive integer"));
  CHECK(contains(expect_decode_error("\x80"s), "missing required fields"));
}

TEST_CASE("decode rejects malformed msgpack") {
  CHECK(contains(expect_decode_error("\xc1"s), "malformed msgpack"));
}

TEST_CASE("decode rejects 5-byte headers that announce huge containers without allocating") {
  CHECK(contains(expect_decode_error("\xdd\xff\xff\xff\xff"s),
                 "array of 4294967295 elements exceeds limit of 10000"));
  CHECK(contains(expect_decode_error("\xdf\xff\xff\xff\xff"s),
                 "map of 4294967295 pairs exceeds limit of 1000"));
  // Strings, binaries and extensions must be present in full, so these are simply truncated.
  expect_decode_error("\xdb\xff\xff\xff\xff"s);
  expect_decode_error("\xc6\xff\xff\xff\xff"s);
  expect_decode_error("\xc9\xff\xff\xff\xff"s);
}

TEST_CASE("decode enforces per-element limits") {
  sch::DecodeLimits limits;
  limits.max_array = 3;
  limits.max_str = 4;
  auto body = pack_map(std::pair{"seq", 1}, std::pair{"data", "x"},
                       std::pair{"list", std::vector<int>{1, 2, 3, 4}});
  CHECK(contains(expect_decode_error<Payload>(body, limits),
                 "array of 4 elements exceeds limit of 3"));
  auto long_string = pack_map(std::pair{"seq", 1}, std::pair{"data", "hello"});
  CHECK(contains(expect_decode_error<Payload>(long_string, limits),
                 "string of 5 bytes exceeds limit of 4"));
}

TEST_CASE("decode rejects nesting deeper than the limit and accepts nesting at it") {
  const sch::DecodeLimits limits;
  const auto nested = [](std::size_t depth) { return std::string(depth, '\x91') + "\xc0"; };
  CHECK(sch::detail::unpack(nested(limits.max_depth), limits).has_value());
  CHECK(contains(expect_decode_error(nested(limits.max_depth + 1)),
                 "nesting deeper than limit of 32"));
  expect_decode_error(nested(100'000));
}

TEST_CASE("decode rejects a body above max_bytes before parsing it") {
  const Payload big{.seq = 1, .data = std::string(2 << 20, 'x')};
  CHECK(contains(expect_decode_error<Payload>(sch::encode(big)), "exceeds limit of 1048576"));
  sch::DecodeLimits small;
  small.max_bytes = 8;
  CHECK(contains(expect_decode_error(sch::encode(sample_order()), small), "exceeds limit of 8"));
}

TEST_CASE("decode survives thousands of random and mutated inputs") {
  std::mt19937_64 random(20261122);
  const auto valid = sch::encode(sample_order());
  int decoded = 0;
  for (int i = 0; i < 4'000; ++i) {
    std::string bytes;
    if (i % 2 == 0) {
      bytes.resize(random() % 64);
      for (auto& c : bytes) c = static_cast<char>(random());
    } else {
      bytes = valid;
      for (int flips = 1 + static_cast<int>(random() % 4); flips > 0; --flips) {
        bytes[random() % bytes.size()] = static_cast<char>(random());
      }
    }
    CAPTURE(i);
    fleet::Result<OrderPlaced> result = fleet::fail(fleet::Errc::internal, "not run");
    REQUIRE_NOTHROW(result = sch::decode<OrderPlaced>(bytes));
    if (result) {
      ++decoded;
    } else {
      REQUIRE(result.error().code == fleet::Errc::decode);
    }
    REQUIRE_NOTHROW((void)sch::decode<Payload>(bytes));
  }
  // Mutations inside string contents still decode; everything else must be rejected cleanly.
  CHECK(decoded > 0);
  CHECK(decoded < 2'000);
}
