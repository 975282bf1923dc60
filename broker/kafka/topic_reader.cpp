#include "kafka/topic_reader.hpp"

#include <optional>

namespace fleet::broker::kafka {

Result<std::vector<std::int32_t>> topic_partitions(rd_kafka_t* handle, const std::string& topic,
                                                   std::chrono::milliseconds timeout) {
  TopicPtr named(rd_kafka_topic_new(handle, topic.c_str(), nullptr));
  const struct rd_kafka_metadata* raw = nullptr;
  const auto err =
      rd_kafka_metadata(handle, 0, named.get(), &raw, static_cast<int>(timeout.count()));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return fail(kafka_error(err, "metadata of " + topic));
  MetadataPtr metadata(raw);
  for (int t = 0; t < metadata->topic_cnt; ++t) {
    const auto& found = metadata->topics[t];
    if (topic != found.topic) continue;
    if (found.err != RD_KAFKA_RESP_ERR_NO_ERROR || found.partition_cnt == 0) {
      return fail(kafka_error(found.err == RD_KAFKA_RESP_ERR_NO_ERROR
                                  ? RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART
                                  : found.err,
                              "topic " + topic));
    }
    std::vector<std::int32_t> partitions;
    for (int p = 0; p < found.partition_cnt; ++p) partitions.push_back(found.partitions[p].id);
    return partitions;
  }
  return fail(Errc::not_found, "topic " + topic + " does not exist");
}

// See topic_reader.hpp.
Status ensure_topic(rd_kafka_t* handle, const Config& config, const std::string& topic) {
  auto known = topic_partitions(handle, topic, config.request_timeout);
  if (known) return {};
  if (known.error().code != Errc::not_found) return fail(known.error());
  char error[512];
  std::unique_ptr<rd_kafka_NewTopic_t, Destroy<rd_kafka_NewTopic_destroy>> request(
      rd_kafka_NewTopic_new(topic.c_str(), config.partitions, config.replication_factor, error,
                            sizeof error));
  if (!request) return fail(Errc::invalid_argument, "topic " + topic + ": " + error);
  QueuePtr answers(rd_kafka_queue_new(handle));
  rd_kafka_NewTopic_t* requests[] = {request.get()};
  rd_kafka_CreateTopics(handle, requests, 1, nullptr, answers.get());
  std::unique_ptr<rd_kafka_event_t, Destroy<rd_kafka_event_destroy>> event(
      rd_kafka_queue_poll(answers.get(), static_cast<int>(config.request_timeout.count())));
  if (!event) return fail(Errc::timeout, "creating topic " + topic + " timed out");
  const auto* result = rd_kafka_event_CreateTopics_result(event.get());
  if (result == nullptr) return fail(Errc::internal, "creating topic " + topic + ": no result");
  std::size_t count = 0;
  const auto** topics = rd_kafka_CreateTopics_result_topics(result, &count);
  for (std::size_t i = 0; i < count; ++i) {
    const auto err = rd_kafka_topic_result_error(topics[i]);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
      return fail(kafka_error(err, "creating topic " + topic));
    }
  }
  return {};
}

Status delete_topic(rd_kafka_t* handle, const Config& config, const std::string& topic) {
  std::unique_ptr<rd_kafka_DeleteTopic_t, Destroy<rd_kafka_DeleteTopic_destroy>> request(
      rd_kafka_DeleteTopic_new(topic.c_str()));
  QueuePtr answers(rd_kafka_queue_new(handle));
  rd_kafka_DeleteTopic_t* requests[] = {request.get()};
  rd_kafka_DeleteTopics(handle, requests, 1, nullptr, answers.get());
  std::unique_ptr<rd_kafka_event_t, Destroy<rd_kafka_event_destroy>> event(
      rd_kafka_queue_poll(answers.get(), static_cast<int>(config.request_timeout.count())));
  if (!event) return fail(Errc::timeout, "deleting topic " + topic + " timed out");
  if (rd_kafka_event_error(event.get()) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return fail(kafka_error(rd_kafka_event_error(event.get()), "deleting topic " + topic));
  }
  const auto* result = rd_kafka_event_DeleteTopics_result(event.get());
  if (result == nullptr) return fail(Errc::internal, "deleting topic " + topic + ": no result");
  std::size_t count = 0;
  const auto** topics = rd_kafka_DeleteTopics_result_topics(result, &count);
  for (std::size_t i = 0; i < count; ++i) {
    const auto err = rd_kafka_topic_result_error(topics[i]);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
      return fail(kafka_error(err, "deleting topic " + topic));
    }
  }
  return {};
}

Result<TopicReader> TopicReader::open(const Config& config) {
  std::map<std::string, std::string> properties = {
      {"bootstrap.servers", config.brokers},
      {"client.id", config.name + "-reader"},
      {"enable.auto.commit", "false"},
      {"enable.partition.eof", "true"},
      {"fetch.wait.max.ms", "10"},  // reads end at the high watermark: do not linger there
      // Needed by assign(); nothing is committed under it.
      {"group.id", "fleet-reader"},
  };
  for (const auto& [name, value] : config.properties) properties[name] = value;
  auto conf = make_conf(properties);
  if (!conf) return fail(conf.error());
  auto handle = make_client(RD_KAFKA_CONSUMER, std::move(*conf));
  if (!handle) return fail(handle.error());
  return TopicReader(std::move(*handle), config.request_timeout);
}

Result<std::map<std::int32_t, Watermarks>> TopicReader::watermarks(const std::string& topic) {
  auto partitions = topic_partitions(handle_.get(), topic, timeout_);
  if (!partitions) return fail(partitions.error());
  std::map<std::int32_t, Watermarks> marks;
  for (std::int32_t p : *partitions) {
    Watermarks w;
    const auto err = rd_kafka_query_watermark_offsets(handle_.get(), topic.c_str(), p, &w.low,
                                                      &w.high, static_cast<int>(timeout_.count()));
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return fail(kafka_error(err, "offsets of " + topic));
    marks[p] = w;
  }
  return marks;
}

Status TopicReader::read(const std::string& topic, const std::map<std::int32_t, std::int64_t>& from,
                         const std::function<bool(const rd_kafka_message_t&)>& visit) {
  auto marks = watermarks(topic);
  if (!marks) return fail(marks.error());
  for (const auto& [partition, mark] : *marks) {
    std::int64_t start = mark.low;
    if (auto it = from.find(partition); it != from.end()) start = std::max(start, it->second);
    if (start >= mark.high) continue;
    PartitionListPtr list(rd_kafka_topic_partition_list_new(1));
    rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), partition)->offset = start;
    if (auto err = rd_kafka_assign(handle_.get(), list.get())) {
      return fail(kafka_error(err, "read " + topic));
    }
    std::int64_t next = start;
    auto deadline = std::chrono::steady_clock::now() + timeout_;
    bool stop = false;
    while (next < mark.high && !stop) {
      MessagePtr record(rd_kafka_consumer_poll(handle_.get(), 100));
      if (!record) {
        if (std::chrono::steady_clock::now() > deadline) {
          rd_kafka_assign(handle_.get(), nullptr);
          return fail(Errc::timeout, "reading " + topic + " stalled");
        }
        continue;
      }
      if (record->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) break;
      if (record->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_assign(handle_.get(), nullptr);
        return fail(kafka_error(record->err, "read " + topic));
      }
      deadline = std::chrono::steady_clock::now() + timeout_;
      next = record->offset + 1;
      if (record->offset < mark.high) stop = !visit(*record);
    }
    rd_kafka_assign(handle_.get(), nullptr);
    if (stop) break;
  }
  return {};
}

Result<PartitionListPtr> committed_offsets(const Config& config, const std::string& topic,
                                           const std::string& group,
                                           const std::map<std::int32_t, Watermarks>& marks) {
  std::map<std::string, std::string> properties = {
      {"bootstrap.servers", config.brokers}, {"group.id", group}, {"enable.auto.commit", "false"}};
  for (const auto& [name, value] : config.properties) properties[name] = value;
  auto conf = make_conf(properties);
  if (!conf) return fail(conf.error());
  auto handle = make_client(RD_KAFKA_CONSUMER, std::move(*conf));
  if (!handle) return fail(handle.error());
  PartitionListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(marks.size())));
  for (const auto& [partition, mark] : marks) {
    rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), partition);
  }
  const auto err = rd_kafka_committed(handle->get(), list.get(),
                                      static_cast<int>(config.request_timeout.count()));
  rd_kafka_consumer_close(handle->get());
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return fail(kafka_error(err, "committed offsets of " + group));
  }
  return list;
}

Result<std::int64_t> TopicReader::timestamp_at(const std::string& topic, std::int32_t partition,
                                               std::int64_t offset) {
  std::optional<std::int64_t> stamp;
  auto marks = watermarks(topic);
  if (!marks) return fail(marks.error());
  std::map<std::int32_t, std::int64_t> only = {{partition, offset}};
  for (const auto& [p, mark] : *marks) only.emplace(p, mark.high);  // nothing to read elsewhere
  auto read_one = read(topic, only, [&](const rd_kafka_message_t& record) {
    rd_kafka_timestamp_type_t type{};
    stamp = rd_kafka_message_timestamp(&record, &type);
    return false;
  });
  if (!read_one) return fail(read_one.error());
  if (!stamp || *stamp < 0) {
    return fail(Errc::not_found, topic + " has no record at " + std::to_string(partition) + "/" +
                                     std::to_string(offset));
  }
  return *stamp;
}

}  // namespace fleet::broker::kafka
