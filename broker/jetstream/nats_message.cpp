#include "nats_message.hpp"

#include <array>
#include <string_view>

#include "header_block.hpp"

namespace fleet::broker::jetstream {

Result<MsgPtr> to_nats(const Message& message) {
  const std::array<HeaderField, 1> dedup{HeaderField{kMsgIdHeader, message.dedup_id}};
  return make_message(message.subject, message.headers, dedup, message.body);
}

Message from_nats(natsMsg* msg) {
  Message message;
  if (const char* subject = natsMsg_GetSubject(msg)) message.subject = subject;
  if (const char* data = natsMsg_GetData(msg)) {
    message.body.assign(data, static_cast<std::size_t>(natsMsg_GetDataLength(msg)));
  }
  const char** raw_keys = nullptr;
  int count = 0;
  // NATS_NOT_FOUND: no headers.
  if (natsMsgHeader_Keys(msg, &raw_keys, &count) != NATS_OK) return message;
  HeaderKeysPtr keys(raw_keys);
  for (int i = 0; i < count; ++i) {
    const char* value = nullptr;
    if (natsMsgHeader_Get(msg, keys[i], &value) != NATS_OK || value == nullptr) value = "";
    if (std::string_view(keys[i]) == kMsgIdHeader) {
      message.dedup_id = value;
    } else {
      message.headers.emplace(keys[i], value);
    }
  }
  return message;
}

Message from_received(natsMsg* msg) {
  auto block = HeaderBlock::of(msg);
  if (!block) return from_nats(msg);
  Message message;
  message.subject = natsMsg_GetSubject(msg);
  message.body.assign(natsMsg_GetData(msg), static_cast<std::size_t>(natsMsg_GetDataLength(msg)));
  block->for_each([&](std::string_view name, std::string_view value) {
    if (name == kMsgIdHeader) {
      if (message.dedup_id.empty()) message.dedup_id = value;
    } else {
      message.headers.emplace(name, value);
    }
  });
  return message;
}

}  // namespace fleet::broker::jetstream
