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
// header map. A block cnats already parsed goes through from_nats.
Message from_received(natsMsg* msg);
// The same through cnats' header API. cnats 3.4's parser takes the line after an empty value
// for that value, so fleet reads through it only what it cannot read in place.
Message from_nats(natsMsg* msg);

}  // namespace fleet::broker::jetstream
