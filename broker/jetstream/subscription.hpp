// Pull subscription bound to an existing durable, and the Delivery handle that settles one
// fetched message.
#pragma once

#include <memory>

#include "connection.hpp"
#include "fleet/broker/transport.hpp"

namespace fleet::broker::jetstream {

// Binds to config.stream / config.durable (jsSubOptions.Stream + Consumer), so cnats neither
// creates nor alters the consumer: Errc::not_found when it does not exist.
Result<std::unique_ptr<Subscription>> subscribe(std::shared_ptr<Connection> connection,
                                                const ConsumerConfig& config);

}  // namespace fleet::broker::jetstream
