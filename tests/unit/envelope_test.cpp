#include <doctest/doctest.h>

#include <regex>
#include <stdexcept>
#include <string>
#include <unordered_set>

#include "fleet/error.hpp"
#include "fleet/schemas/envelope.hpp"

namespace sch = fleet::schemas;

namespace {

bool is_hex(const std::string& text, std::size_t length) {
  return text.size() == length && text.find_first_not_of("0123456789abcdef") == std::string::npos;
}

std::string trace_id(const std::string& traceparent) {
  return traceparent.substr(3, 32);
}
std::string span_id(const std::string& traceparent) {
  return traceparent.substr(36, 16);
}

sch::Metadata full_metadata() {
  sch::Metadata meta;
  meta.id = "0123456789abcdef0123456789abcdef";
  meta.type = "orders.OrderPlaced";
  meta.schema_version = 7;
  meta.occurred_at = "2026-11-22T10:11:12.345Z";
  meta.correlation_id = "c0ffee";
  meta.causation_id = "cafe";
  meta.traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  meta.ordering_key = "order-42";
  return meta;
}

void check_rejected(const fleet::Headers& headers, const std::string& needle) {
  auto meta = sch::metadata_from_headers(headers);
  REQUIRE_FALSE(meta.has_value());
  CHECK(meta.error().code == fleet::Errc::decode);
  CHECK_MESSAGE(meta.error().message.find(needle) != std::string::npos, meta.error().message);
}

}  // namespace

TEST_CASE("envelope headers round trip with every field set") {
  const auto meta = full_metadata();
  const auto headers = sch::to_headers(meta);
  CHECK(headers.size() == 8);
  CHECK(headers.at("Fleet-Id") == meta.id);
  CHECK(headers.at("Fleet-Schema-Version") == "7");
  CHECK(headers.at("traceparent") == meta.traceparent);

  auto back = sch::metadata_from_headers(headers);
  REQUIRE(back.has_value());
  CHECK(back->id == meta.id);
  CHECK(back->type == meta.type);
  CHECK(back->schema_version == meta.schema_version);
  CHECK(back->occurred_at == meta.occurred_at);
  CHECK(back->correlation_id == meta.correlation_id);
  CHECK(back->causation_id == meta.causation_id);
  CHECK(back->traceparent == meta.traceparent);
  CHECK(back->ordering_key == meta.ordering_key);
}

TEST_CASE("moving metadata into headers gives the same headers as copying it") {
  auto meta = full_metadata();
  const auto copied = sch::to_headers(meta);
  CHECK(sch::to_headers(std::move(meta)) == copied);
}

TEST_CASE("headers read as a map: one value per name, iterated in name order") {
  fleet::Headers headers{{"b", "2"}, {"a", "1"}, {"b", "ignored"}};
  CHECK(headers.size() == 2);
  CHECK(headers.at("b") == "2");  // the first value of a repeated name wins, as in a map
  headers["c"] = "3";
  headers.insert_or_assign("a", "one");
  CHECK_FALSE(headers.emplace("c", "again").second);
  std::string order;
  for (const auto& [name, value] : headers) order += name + "=" + value + ";";
  CHECK(order == "a=one;b=2;c=3;");
  CHECK(fleet::header(headers, "c") == "3");
  CHECK_FALSE(fleet::header(headers, "d").has_value());
  CHECK_THROWS_AS(headers.at("d"), std::out_of_range);
  CHECK(headers.erase("b") == 1);
  headers.erase(headers.lower_bound("c"), headers.end());
  CHECK(headers == fleet::Headers{{"a", "one"}});
}

TEST_CASE("headers leave out empty optional fields") {
  sch::Metadata meta;
  meta.id = "abc";
  meta.type = "demo.Note";
  const auto headers = sch::to_headers(meta);
  CHECK(headers.size() == 3);
  CHECK(headers.contains("Fleet-Id"));
  CHECK(headers.contains("Fleet-Type"));
  CHECK(headers.contains("Fleet-Schema-Version"));

  auto back = sch::metadata_from_headers(headers);
  REQUIRE(back.has_value());
  CHECK(back->causation_id.empty());
  CHECK(back->ordering_key.empty());
}

TEST_CASE("metadata without an id or a type is rejected naming the header") {
  auto headers = sch::to_headers(full_metadata());
  SUBCASE("missing id") {
    headers.erase("Fleet-Id");
    check_rejected(headers, "Fleet-Id");
  }
  SUBCASE("empty id") {
    headers["Fleet-Id"] = "";
    check_rejected(headers, "Fleet-Id");
  }
  SUBCASE("missing type") {
    headers.erase("Fleet-Type");
    check_rejected(headers, "Fleet-Type");
  }
}

TEST_CASE("a schema version that is not a positive 32-bit number is rejected") {
  auto headers = sch::to_headers(full_metadata());
  for (const char* bad : {"", "abc", "1x", " 1", "-1", "+1", "1.0", "0", "4294967296"}) {
    CAPTURE(bad);
    headers["Fleet-Schema-Version"] = bad;
    check_rejected(headers, "Fleet-Schema-Version");
  }
  headers["Fleet-Schema-Version"] = "4294967295";
  CHECK(sch::metadata_from_headers(headers).value().schema_version == 4294967295u);
}

TEST_CASE("a message without a schema version header is read as version 1") {
  fleet::Headers headers{{"Fleet-Id", "x"}, {"Fleet-Type", "demo.Note"}};
  auto meta = sch::metadata_from_headers(headers);
  REQUIRE(meta.has_value());
  CHECK(meta->schema_version == 1);
}

TEST_CASE("new_metadata starts a conversation and a trace") {
  auto meta = sch::new_metadata("orders.OrderPlaced", 3);
  CHECK(is_hex(meta.id, 32));
  CHECK(meta.type == "orders.OrderPlaced");
  CHECK(meta.schema_version == 3);
  CHECK(meta.correlation_id == meta.id);
  CHECK(meta.causation_id.empty());
  CHECK(std::regex_match(meta.traceparent, std::regex("00-[0-9a-f]{32}-[0-9a-f]{16}-01")));
  CHECK(std::regex_match(meta.occurred_at,
                         std::regex(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)")));
}

TEST_CASE("follow_up inherits correlation id and trace id and sets causation id") {
  auto root = sch::new_metadata("orders.OrderPlaced");
  root.ordering_key = "order-1";
  auto next = sch::follow_up(root, "orders.PaymentCaptured");
  auto third = sch::follow_up(next, "orders.OrderShipped", 2);

  CHECK(next.id != root.id);
  CHECK(next.type == "orders.PaymentCaptured");
  CHECK(next.correlation_id == root.id);
  CHECK(next.causation_id == root.id);
  CHECK(trace_id(next.traceparent) == trace_id(root.traceparent));
  CHECK(span_id(next.traceparent) != span_id(root.traceparent));
  CHECK(next.ordering_key == "order-1");

  CHECK(third.correlation_id == root.id);
  CHECK(third.causation_id == next.id);
  CHECK(third.schema_version == 2);
  CHECK(trace_id(third.traceparent) == trace_id(root.traceparent));
}

TEST_CASE("follow_up of a cause from outside fleet starts its own trace and conversation") {
  sch::Metadata foreign;
  foreign.id = "external-1";
  foreign.traceparent = "garbage";
  auto next = sch::follow_up(foreign, "orders.OrderPlaced");
  CHECK(next.correlation_id == "external-1");
  CHECK(next.causation_id == "external-1");
  CHECK(std::regex_match(next.traceparent, std::regex("00-[0-9a-f]{32}-[0-9a-f]{16}-01")));
}

TEST_CASE("event ids are 32 lowercase hex characters and unique over 10k") {
  std::unordered_set<std::string> seen;
  for (int i = 0; i < 10'000; ++i) {
    auto id = sch::new_event_id();
    REQUIRE(is_hex(id, 32));
    seen.insert(std::move(id));
  }
  CHECK(seen.size() == 10'000);
}

TEST_CASE("an error describes itself as code and message") {
  CHECK(fleet::Error{fleet::Errc::timeout, "fetch did not answer"}.describe() ==
        "timeout: fetch did not answer");
  CHECK(fleet::Error{fleet::Errc::decode, ""}.describe() == "decode");
  CHECK(fleet::to_string(fleet::Errc::not_found) == "not_found");
}
