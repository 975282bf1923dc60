// Conversion between fleet::broker::Message and natsMsg.
#pragma once

#include "connection.hpp"
#include "fleet/broker/message.hpp"
#include "fleet/error.hpp"

namespace fleet::broker::jetstream {

// JetStream's dedup header. Set through jsPubOptions.MsgId on publish; on delivery it becomes
// Message::dedup_id and is left out of Message::headers.
inline constexpr const char* kMsgIdHeader = "Nats-Msg-Id";

// Subject, body and headers. The dedup id goes in jsPubOptions.MsgId. Message::key is not sent
// (JetStream has no partition key).
Result<MsgPtr> to_nats(const Message& message);

// Subject, body, headers (first value per name) and dedup id of a delivered message.
Message from_nats(natsMsg* msg);

}  // namespace fleet::broker::jetstream
