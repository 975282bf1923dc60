// Publishes a batch asynchronously and waits until the broker confirmed every message.
#pragma once

#include <chrono>
#include <vector>

#include "fleet/broker/transport.hpp"

namespace fleet::runtime {

// The first failure, or Errc::timeout if some confirmations did not arrive in time.
Status publish_confirmed(broker::Transport& transport, const std::vector<broker::Message>& messages,
                         std::chrono::milliseconds timeout);

}  // namespace fleet::runtime
