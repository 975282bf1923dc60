#include "nats_message.hpp"

#include <array>
#include <string_view>

#include "header_block.hpp"

namespace fleet::broker::jetstream {

Result<MsgPtr> to_nats(const Message& message) {
  const std::array<HeaderField, 1> dedup{HeaderField{kMsgIdHeader, message.dedup_id}};
  return make_message(message.subject, message.headers, dedup, message.body);
}

namespace {

// Subject and body of `msg`; its headers are added with add_header.
Message without_headers(natsMsg* msg) {
  Message message;
  if (const char* subject = natsMsg_GetSubject(msg)) message.subject = subject;
  if (const char* data = natsMsg_GetData(msg)) {
    message.body.assign(data, static_cast<std::size_t>(natsMsg_GetDataLength(msg)));
  }
  return message;
}

// The dedup id becomes Message::dedup_id; the first value of a name wins, as in cnats.
void add_header(Message& message, std::string_view name, std::string_view value) {
  if (name != kMsgIdHeader) {
    message.headers.emplace(name, value);
  } else if (message.dedup_id.empty()) {
    message.dedup_id = value;
  }
}

// Through cnats' header API: for a block HeaderBlock::of cannot read in place (one cnats
// already parsed, folded lines).
Message from_nats(natsMsg* msg) {
  Message message = without_headers(msg);
  const char** raw_keys = nullptr;
  int count = 0;
  // NATS_NOT_FOUND: no headers.
  if (natsMsgHeader_Keys(msg, &raw_keys, &count) != NATS_OK) return message;
  HeaderKeysPtr keys(raw_keys);
  for (int i = 0; i < count; ++i) {
    const char* value = nullptr;
    if (natsMsgHeader_Get(msg, keys[i], &value) != NATS_OK || value == nullptr) value = "";
    add_header(message, keys[i], value);
  }
  return message;
}

}  // namespace

Message from_received(natsMsg* msg) {
  auto block = HeaderBlock::of(msg);
  if (!block) return from_nats(msg);
  Message message = without_headers(msg);
  block->for_each(
      [&](std::string_view name, std::string_view value) { add_header(message, name, value); });
  return message;
}

}  // namespace fleet::broker::jetstream
