// Transport::delivery_progress on Kafka. The group's committed offsets, and the delivery counts
// fleet commits with them (partition_ledger.hpp: a record's count is committed before it is
// handed out), say how far each partition was delivered. The record after that is the oldest one
// waiting there; the oldest of those timestamps over the partitions is the answer.
#pragma once

#include <string>

#include "fleet/broker/kafka.hpp"
#include "fleet/broker/transport.hpp"

namespace fleet::broker::kafka {

// `group`: the durable's consumer group ("" = none registered: nothing delivered yet).
Result<DeliveryProgress> delivery_progress(const Config& config, const std::string& topic,
                                           const std::string& group);

}  // namespace fleet::broker::kafka
