// Ownership of librdkafka handles: every C handle lives in one of these unique_ptr aliases, so no
// code outside the deleters calls a *_destroy function.
#pragma once

#include <librdkafka/rdkafka.h>

#include <map>
#include <memory>
#include <string>

#include "fleet/error.hpp"

namespace fleet::broker::kafka {

template <auto DestroyFn>
struct Destroy {
  template <class T>
  void operator()(T* handle) const noexcept {
    DestroyFn(handle);
  }
};

// rd_kafka_destroy waits for the handle's threads; a consumer must be closed first.
using KafkaPtr = std::unique_ptr<rd_kafka_t, Destroy<rd_kafka_destroy>>;
using ConfPtr = std::unique_ptr<rd_kafka_conf_t, Destroy<rd_kafka_conf_destroy>>;
using TopicPtr = std::unique_ptr<rd_kafka_topic_t, Destroy<rd_kafka_topic_destroy>>;
using PartitionListPtr = std::unique_ptr<rd_kafka_topic_partition_list_t,
                                         Destroy<rd_kafka_topic_partition_list_destroy>>;
using MessagePtr = std::unique_ptr<rd_kafka_message_t, Destroy<rd_kafka_message_destroy>>;
using HeadersPtr = std::unique_ptr<rd_kafka_headers_t, Destroy<rd_kafka_headers_destroy>>;
using QueuePtr = std::unique_ptr<rd_kafka_queue_t, Destroy<rd_kafka_queue_destroy>>;
using MetadataPtr =
    std::unique_ptr<const struct rd_kafka_metadata, Destroy<rd_kafka_metadata_destroy>>;
using ErrorPtr = std::unique_ptr<rd_kafka_error_t, Destroy<rd_kafka_error_destroy>>;

// A configuration with `properties` set, or the property librdkafka refused.
Result<ConfPtr> make_conf(const std::map<std::string, std::string>& properties);

// A producer or consumer handle; takes ownership of `conf` on success only.
Result<KafkaPtr> make_client(rd_kafka_type_t type, ConfPtr conf);

// Errc for a librdkafka error: timeouts and broker trouble are retriable, a missing topic is
// not_found, a record too large invalid_argument (as JetStream reports one), the rest rejected.
Error kafka_error(rd_kafka_resp_err_t err, const std::string& context);

}  // namespace fleet::broker::kafka
