// Pull subscription bound to an existing durable, and the Delivery handle that settles one
// fetched message.
#pragma once

#include <memory>

#include "connection.hpp"
#include "fleet/broker/transport.hpp"

namespace fleet::broker::jetstream {

// Pulls from config.stream / config.durable through fleet's own pull consumer
// (pull_consumer.hpp); neither creates nor alters the consumer: Errc::not_found when it does
// not exist. Deliveries are settled through their ack subject (ack_reply.hpp).
Result<std::unique_ptr<Subscription>> subscribe(std::shared_ptr<Connection> connection,
                                                const ConsumerConfig& config);

}  // namespace fleet::broker::jetstream
