#include <doctest/doctest.h>

#include "jetstream/ack_reply.hpp"

using fleet::broker::jetstream::nak_body;
using fleet::broker::jetstream::parse_ack_reply;
using namespace std::chrono_literals;

TEST_CASE("an ack subject of a 2.9 server gives delivery count, sequences and pending") {
  const auto meta = parse_ack_reply("$JS.ACK.ORDERS.payment.3.1042.977.1700000000000000000.15");
  REQUIRE(meta.has_value());
  CHECK(meta->delivered == 3);
  CHECK(meta->stream_sequence == 1042);
  CHECK(meta->consumer_sequence == 977);
  CHECK(meta->pending == 15);
}

TEST_CASE("an ack subject with domain and account hash is read the same way") {
  const auto meta =
      parse_ack_reply("$JS.ACK.hub.ACCHASH.ORDERS.payment.1.7.6.1700000000000000000.0.randomtoken");
  REQUIRE(meta.has_value());
  CHECK(meta->delivered == 1);
  CHECK(meta->stream_sequence == 7);
  CHECK(meta->consumer_sequence == 6);
  CHECK(meta->pending == 0);
}

TEST_CASE("a subject that is not a JetStream ack subject is refused, not misread") {
  CHECK_FALSE(parse_ack_reply("").has_value());
  CHECK_FALSE(parse_ack_reply("_INBOX.abc.def").has_value());
  CHECK_FALSE(parse_ack_reply("$JS.ACK.ORDERS.payment.3.1042").has_value());
  CHECK_FALSE(parse_ack_reply("$JS.ACK.ORDERS.payment.x.1042.977.1.15").has_value());
  CHECK_FALSE(parse_ack_reply("$JS.ACK.ORDERS.payment.-1.1042.977.1.15").has_value());
  CHECK_FALSE(parse_ack_reply("$JS.ACK.ORDERS.payment.3.1042.977.1.15.a.b.c.d.e.f").has_value());
}

TEST_CASE("a nak carries its delay in nanoseconds; no delay is a plain nak") {
  CHECK(nak_body(0ms) == "-NAK");
  CHECK(nak_body(-5ms) == "-NAK");
  CHECK(nak_body(1500ms) == "-NAK {\"delay\":1500000000}");
}
