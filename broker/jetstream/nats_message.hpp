// Conversion between fleet::broker::Message and natsMsg.
#pragma once

#include "connection.hpp"
#include "fleet/broker/message.hpp"
#include "fleet/error.hpp"

namespace fleet::broker::jetstream {

// JetStream's dedup header. Sent in the message's header block; on delivery it becomes
// Message::dedup_id and is left out of Message::headers.
inline constexpr const char* kMsgIdHeader = "Nats-Msg-Id";

// Subject, body, headers and the dedup id (as Nats-Msg-Id), the header block encoded by fleet
// (header_block.hpp). Message::key is not sent (JetStream has no partition key).
Result<MsgPtr> to_nats(const Message& message);

// Subject, body, headers (first value per name) and dedup id of a message cnats received or
// built (a delivery, a js_GetMsg answer): its header block read in place (HeaderBlock::of), no
// header map. Only a block cnats already parsed is read through cnats' header API, whose
// parser takes the line after an empty value for that value.
Message from_received(natsMsg* msg);

}  // namespace fleet::broker::jetstream
