// KeyValue over a JetStream KV bucket (the stream KV_<bucket>, subjects $KV.<bucket>.>) through
// cnats' kvStore API, which cnats 3.4.1 marks experimental but which works against 2.9 servers.
#pragma once

#include <memory>

#include "connection.hpp"
#include "fleet/broker/key_value.hpp"

namespace fleet::broker::jetstream {

// Binds to the bucket, creating it if missing. An existing bucket whose TTL or history differ
// from `config` is updated to match (last caller wins, as with ensure_stream); its replica count
// is left as created, since changing it moves data between servers and is an operator's call.
// The KeyValue shares `connection`, so it stays usable after the transport is gone.
Result<std::unique_ptr<KeyValue>> open_key_value(std::shared_ptr<Connection> connection,
                                                 const BucketConfig& config);

}  // namespace fleet::broker::jetstream
