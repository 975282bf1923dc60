// Fault injection on librdkafka's mock cluster, for tests of how fleet's Kafka clients react
// to a broker refusing requests. Internal to fleet::broker_kafka (tests reach it through broker/).
#pragma once

#include <librdkafka/rdkafka.h>

#include <cstdint>

#include "fleet/broker/kafka.hpp"

namespace fleet::broker::kafka {

// The next `count` requests of Kafka API `api_key` (e.g. 8 = OffsetCommit) to any broker of
// `cluster` (made by MockCluster::start) are answered with `error`.
void refuse_requests(MockCluster& cluster, std::int16_t api_key, int count,
                     rd_kafka_resp_err_t error);

}  // namespace fleet::broker::kafka
