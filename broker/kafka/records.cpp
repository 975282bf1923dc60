#include "kafka/records.hpp"

namespace fleet::broker::kafka {

HeadersPtr record_headers(const Message& message) {
  HeadersPtr headers(rd_kafka_headers_new(message.headers.size() + 2));
  rd_kafka_header_add(headers.get(), kSubjectHeader, -1, message.subject.data(),
                      static_cast<ssize_t>(message.subject.size()));
  if (!message.dedup_id.empty()) {
    rd_kafka_header_add(headers.get(), kMsgIdHeader, -1, message.dedup_id.data(),
                        static_cast<ssize_t>(message.dedup_id.size()));
  }
  for (const auto& [name, value] : message.headers) {
    if (name == kSubjectHeader || name == kMsgIdHeader) continue;
    rd_kafka_header_add(headers.get(), name.data(), static_cast<ssize_t>(name.size()), value.data(),
                        static_cast<ssize_t>(value.size()));
  }
  return headers;
}

std::string_view record_key(const Message& message) {
  if (!message.key.empty()) return message.key;
  if (auto key = header(message.headers, kOrderingKeyHeader)) return *key;
  return {};
}

Message to_message(const rd_kafka_message_t& record) {
  Message message;
  if (record.payload != nullptr) {
    message.body.assign(static_cast<const char*>(record.payload), record.len);
  }
  if (record.key != nullptr)
    message.key.assign(static_cast<const char*>(record.key), record.key_len);
  rd_kafka_headers_t* headers = nullptr;
  // The headers stay owned by the record.
  if (rd_kafka_message_headers(&record, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    const char* name = nullptr;
    const void* value = nullptr;
    std::size_t size = 0;
    for (std::size_t i = 0;
         rd_kafka_header_get_all(headers, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
         ++i) {
      std::string text =
          value == nullptr ? std::string() : std::string(static_cast<const char*>(value), size);
      if (std::string_view(name) == kSubjectHeader) {
        message.subject = std::move(text);
      } else if (std::string_view(name) == kMsgIdHeader) {
        message.dedup_id = std::move(text);
      } else {
        message.headers.insert_or_assign(name, std::move(text));
      }
    }
  }
  if (message.subject.empty() && record.rkt != nullptr) {
    message.subject = rd_kafka_topic_name(record.rkt);
  }
  return message;
}

}  // namespace fleet::broker::kafka
