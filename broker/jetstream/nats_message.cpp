#include "nats_message.hpp"

#include <climits>
#include <string_view>

#include "status.hpp"

namespace fleet::broker::jetstream {

Result<MsgPtr> to_nats(const Message& message) {
  if (message.body.size() > static_cast<std::size_t>(INT_MAX)) {
    return fleet::fail(Errc::invalid_argument, "message body larger than 2 GiB");
  }
  natsMsg* raw = nullptr;
  // Copies subject and body.
  natsStatus s = natsMsg_Create(&raw, message.subject.c_str(), nullptr, message.body.data(),
                                static_cast<int>(message.body.size()));
  MsgPtr msg(raw);
  if (s != NATS_OK) return fail(s, "message for subject '" + message.subject + "'");
  for (const auto& [name, value] : message.headers) {
    s = natsMsgHeader_Set(msg.get(), name.c_str(), value.c_str());
    if (s != NATS_OK) return fail(s, "header '" + name + "'");
  }
  return msg;
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

}  // namespace fleet::broker::jetstream
