// StreamStore over JetStream: scans through an ordered (ephemeral, flow-controlled) consumer,
// gets with js_GetMsg, removes through the $JS.API.STREAM.MSG.DELETE request, which
// remove_async pipelines on one reply subscription.
#pragma once

#include <memory>
#include <string>

#include "connection.hpp"
#include "fleet/broker/stream_store.hpp"

namespace fleet::broker::jetstream {

// Errc::not_found when the stream does not exist.
Result<std::unique_ptr<StreamStore>> open_stream_store(std::shared_ptr<Connection> connection,
                                                       const std::string& stream);

}  // namespace fleet::broker::jetstream
