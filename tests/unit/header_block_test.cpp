// NATS header blocks fleet encodes and reads in place (broker/jetstream/header_block.hpp), checked
// against cnats' own header parser on the same messages.
#include "jetstream/header_block.hpp"

#include <doctest/doctest.h>

#include <array>
#include <string>

#include <nats/nats.h>

using fleet::Errc;
using fleet::Headers;
using fleet::broker::jetstream::HeaderBlock;
using fleet::broker::jetstream::HeaderField;
using fleet::broker::jetstream::make_message;
using fleet::broker::jetstream::MsgPtr;
using fleet::broker::jetstream::ReceivedHeaders;

namespace {

std::string cnats_header(natsMsg* msg, const char* name) {
  const char* value = nullptr;
  if (natsMsgHeader_Get(msg, name, &value) != NATS_OK || value == nullptr) return "<absent>";
  return value;
}

MsgPtr message(const Headers& headers, std::span<const HeaderField> extra = {}) {
  auto msg = make_message("orders.placed", headers, extra, "body");
  REQUIRE(msg);
  return std::move(*msg);
}

}  // namespace

TEST_CASE("headers fleet encodes read back in place and through cnats alike") {
  const std::array<HeaderField, 2> extra{HeaderField{"Nats-Msg-Id", "evt-1"},
                                         HeaderField{"Nats-Expected-Last-Subject-Sequence", ""}};
  auto msg = message({{"Fleet-Id", "evt-1"}, {"Fleet-Note", "two\r\nlines"}}, extra);
  CHECK(std::string(natsMsg_GetSubject(msg.get())) == "orders.placed");
  CHECK(std::string(natsMsg_GetData(msg.get()), natsMsg_GetDataLength(msg.get())) == "body");

  const auto block = HeaderBlock::of(msg.get());
  REQUIRE(block);
  CHECK(block->get("Fleet-Id") == "evt-1");
  CHECK(block->get("Fleet-Note") == "two  lines");  // CR and LF go as spaces, as cnats sends them
  CHECK(block->get("Nats-Msg-Id") == "evt-1");
  CHECK_FALSE(block->get("Nats-Expected-Last-Subject-Sequence"));  // empty extras are not sent
  CHECK_FALSE(block->get("fleet-id"));                             // names compare exactly
  CHECK(block->status().empty());

  // cnats parses the same block into its map (in place, which ends reading it in place).
  CHECK(cnats_header(msg.get(), "Fleet-Id") == "evt-1");
  CHECK(cnats_header(msg.get(), "Nats-Msg-Id") == "evt-1");
  CHECK(cnats_header(msg.get(), "Fleet-Note") == "two  lines");
  CHECK_FALSE(HeaderBlock::of(msg.get()));
  const ReceivedHeaders headers(msg.get());
  CHECK(headers.get("Fleet-Id") == "evt-1");
  CHECK_FALSE(headers.get("Missing"));
}

TEST_CASE("an empty header value reads back empty in place") {
  // cnats' own parser would take the next line for its value.
  auto msg = message({{"Empty", ""}, {"Fleet-Id", "evt-1"}});
  const auto block = HeaderBlock::of(msg.get());
  REQUIRE(block);
  CHECK(block->get("Empty") == "");
  CHECK(block->get("Fleet-Id") == "evt-1");
}

TEST_CASE("a message header named like a JetStream field gives way to the field") {
  const std::array<HeaderField, 1> extra{HeaderField{"Nats-Msg-Id", "dedup-2"}};
  auto msg = message({{"Nats-Msg-Id", "from-the-caller"}, {"Fleet-Id", "x"}}, extra);
  const auto block = HeaderBlock::of(msg.get());
  REQUIRE(block);
  int ids = 0;
  block->for_each([&](std::string_view name, std::string_view value) {
    if (name != "Nats-Msg-Id") return;
    ++ids;
    CHECK(value == "dedup-2");
  });
  CHECK(ids == 1);
}

TEST_CASE("a message without headers is sent plain") {
  auto msg = message({});
  const auto block = HeaderBlock::of(msg.get());
  REQUIRE(block);
  CHECK_FALSE(block->get("Fleet-Id"));
  const char** keys = nullptr;
  int count = 0;
  CHECK(natsMsgHeader_Keys(msg.get(), &keys, &count) == NATS_NOT_FOUND);
}

TEST_CASE("a header name that would break the block is refused") {
  for (const char* name : {"", "Fleet:Id", " Fleet-Id", "Fleet\r\nId"}) {
    CAPTURE(name);
    auto msg = make_message("orders.placed", Headers{{name, "v"}}, {}, "body");
    REQUIRE_FALSE(msg);
    CHECK(msg.error().code == Errc::invalid_argument);
  }
  CHECK(make_message("", Headers{}, {}, "body").error().code == Errc::invalid_argument);
  // cnats sends a name with a space inside as it is; so does fleet, and reads it back.
  auto spaced = make_message("orders.placed", Headers{{"Fleet Note", "v"}}, {}, "body");
  REQUIRE(spaced);
  const auto block = HeaderBlock::of(spaced->get());
  REQUIRE(block);
  CHECK(block->get("Fleet Note") == "v");
}

TEST_CASE("a status line splits into status and description") {
  const auto block = HeaderBlock::parse(
      "NATS/1.0 408 Request Timeout\r\nNats-Pending-Messages: 5\r\nNats-Pending-Bytes:  9 "
      "\r\n\r\n");
  REQUIRE(block);
  CHECK(block->status() == "408");
  CHECK(block->description() == "Request Timeout");
  CHECK(block->get("Nats-Pending-Messages") == "5");
  CHECK(block->get("Nats-Pending-Bytes") == "9");
  const auto idle = HeaderBlock::parse("NATS/1.0 100\r\n\r\n");
  REQUIRE(idle);
  CHECK(idle->status() == "100");
  CHECK(idle->description().empty());
}

TEST_CASE("a block fleet cannot read in place is left to cnats") {
  CHECK_FALSE(HeaderBlock::parse("NATS/1.0\r\nA: b\r\n folded\r\n\r\n"));  // folded line
  CHECK_FALSE(HeaderBlock::parse("NATS/1.0\r\nA: b\r\n"));                 // no end
  CHECK_FALSE(HeaderBlock::parse("NATS/1.0\r\nA\r\n\r\n"));                // no colon
  CHECK_FALSE(HeaderBlock::parse("NATS/1.01\r\n\r\n"));
  CHECK_FALSE(HeaderBlock::parse("HTTP/1.1\r\n\r\n"));
  CHECK(HeaderBlock::parse("NATS/1.0\r\n\r\n"));
}
