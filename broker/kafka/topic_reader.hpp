// Reads a topic's stored records from given offsets up to its end as of the call, without a
// consumer group (nothing is committed): for the stream registry, subject counts and the
// dead-letter tooling.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "fleet/broker/kafka.hpp"
#include "kafka/handles.hpp"

namespace fleet::broker::kafka {

struct Watermarks {
  std::int64_t low = 0;   // first stored offset
  std::int64_t high = 0;  // next offset to be written
};

class TopicReader {
 public:
  static Result<TopicReader> open(const Config& config);

  // Partition -> watermarks; Errc::not_found if the topic does not exist.
  Result<std::map<std::int32_t, Watermarks>> watermarks(const std::string& topic);

  // Calls `visit` for each record of `topic` at or after `from[partition]` (default: the first
  // stored one), partition by partition in offset order, until it returns false or every record
  // stored when the call began was seen.
  Status read(const std::string& topic, const std::map<std::int32_t, std::int64_t>& from,
              const std::function<bool(const rd_kafka_message_t&)>& visit);

  // The timestamp (Unix ms) of the record at `offset` of one partition.
  Result<std::int64_t> timestamp_at(const std::string& topic, std::int32_t partition,
                                    std::int64_t offset);

  rd_kafka_t* handle() const { return handle_.get(); }

 private:
  TopicReader(KafkaPtr handle, std::chrono::milliseconds timeout)
      : handle_(std::move(handle)), timeout_(timeout) {}
  KafkaPtr handle_;
  std::chrono::milliseconds timeout_;
};

// The committed offset and metadata of `group` for each partition in `marks`, read through a
// handle of that group that never joins it (the client settings of `config` apply).
Result<PartitionListPtr> committed_offsets(const Config& config, const std::string& topic,
                                           const std::string& group,
                                           const std::map<std::int32_t, Watermarks>& marks);

// Partition ids of `topic` from the brokers' metadata; Errc::not_found if it does not exist.
// Asking may make a broker that allows it create the topic.
Result<std::vector<std::int32_t>> topic_partitions(rd_kafka_t* handle, const std::string& topic,
                                                   std::chrono::milliseconds timeout);

// Creates `topic` (config.partitions, config.replication_factor) if the brokers do not know it:
// asking for its metadata with `handle` (a producer: allowed to auto-create) makes brokers that
// allow auto-creation (the dev cluster) create it; otherwise the Admin API does.
Status ensure_topic(rd_kafka_t* handle, const Config& config, const std::string& topic);
// Deletes `topic` through the Admin API; one that does not exist is not an error.
Status delete_topic(rd_kafka_t* handle, const Config& config, const std::string& topic);

}  // namespace fleet::broker::kafka
