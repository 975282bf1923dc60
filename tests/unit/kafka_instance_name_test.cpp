// The static member name a Kafka subscription joins its group under (group.instance.id).
#include <doctest/doctest.h>

#include <unistd.h>

#include "kafka/instance_name.hpp"

using fleet::broker::kafka::expand_instance_id;
using fleet::broker::kafka::instance_name;

TEST_CASE("kafka instance id: {hostname} becomes the host name, the rest is kept") {
  CHECK(expand_instance_id("{hostname}", "3f2a9c1b7d4e") == "3f2a9c1b7d4e");
  CHECK(expand_instance_id("orders-{hostname}", "node7") == "orders-node7");
  CHECK(expand_instance_id("{hostname}/{hostname}", "a") == "a/a");
  CHECK(expand_instance_id("orders-1", "node7") == "orders-1");
  CHECK(expand_instance_id("{host}", "node7") == "{host}");
}

TEST_CASE("kafka instance id: each further subscription of a process to one group gets its own") {
  char host[256] = {};
  REQUIRE(::gethostname(host, sizeof host - 1) == 0);
  const std::string expected = std::string("slot-") + host;
  CHECK(instance_name("slot-{hostname}", "instance-test-a") == expected);
  CHECK(instance_name("slot-{hostname}", "instance-test-a") == expected + "#2");
  CHECK(instance_name("slot-{hostname}", "instance-test-b") == expected);  // another group
  CHECK(instance_name("slot-{hostname}", "instance-test-a") == expected + "#3");
}
