// Stream and consumer management through the JetStream API ($JS.API.*).
#pragma once

#include <nats/nats.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "fleet/broker/transport.hpp"

namespace fleet::broker::jetstream {

// Create, or update to match. Fields the server cannot change (storage type, for one) come back
// as Errc::rejected with the server's description.
Status ensure_stream(jsCtx* js, const StreamConfig& config);
// Durable pull consumer, explicit acks, delivering the whole stream from the start.
Status ensure_consumer(jsCtx* js, const ConsumerConfig& config);
Status remove_consumer(jsCtx* js, const std::string& stream, const std::string& durable);
// Errc::not_found when there is no such stream.
Status remove_stream(jsCtx* js, const std::string& name);

Result<std::vector<StreamInfo>> list_streams(jsCtx* js);
// The stream capturing `subject`, from $JS.API.STREAM.NAMES with a subject filter: in a cluster
// the meta leader answers from its stream assignments, whether or not the stream has a leader.
Result<std::optional<std::string>> stream_for_subject(natsConnection* nc,
                                                      const std::string& subject,
                                                      std::chrono::milliseconds timeout);
// Consumer info, and the stream message after the last one delivered for its time.
Result<DeliveryProgress> delivery_progress(jsCtx* js, const std::string& stream,
                                           const std::string& durable);
Result<std::map<std::string, std::uint64_t>> subject_counts(jsCtx* js, const std::string& stream,
                                                            const std::string& filter);

}  // namespace fleet::broker::jetstream
