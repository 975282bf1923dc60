#include "kafka/delivery_progress.hpp"

#include <algorithm>

#include "kafka/handles.hpp"
#include "kafka/partition_ledger.hpp"
#include "kafka/topic_reader.hpp"

namespace fleet::broker::kafka {

Result<DeliveryProgress> delivery_progress(const Config& config, const std::string& topic,
                                           const std::string& group) {
  if (group.empty()) return DeliveryProgress{};
  auto reader = TopicReader::open(config);
  if (!reader) return fail(reader.error());
  auto marks = reader->watermarks(topic);
  if (!marks) return fail(marks.error());

  // The group's commits, read through a handle of that group that never joins it.
  std::map<std::string, std::string> properties = {
      {"bootstrap.servers", config.brokers}, {"group.id", group}, {"enable.auto.commit", "false"}};
  for (const auto& [name, value] : config.properties) properties[name] = value;
  auto conf = make_conf(properties);
  if (!conf) return fail(conf.error());
  auto handle = make_client(RD_KAFKA_CONSUMER, std::move(*conf));
  if (!handle) return fail(handle.error());
  PartitionListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(marks->size())));
  for (const auto& [partition, mark] : *marks) {
    rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), partition);
  }
  const auto err = rd_kafka_committed(handle->get(), list.get(),
                                      static_cast<int>(config.request_timeout.count()));
  rd_kafka_consumer_close(handle->get());
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return fail(kafka_error(err, "committed offsets of " + group));
  }

  DeliveryProgress progress{.caught_up = true};
  for (int i = 0; i < list->cnt; ++i) {
    const auto& entry = list->elems[i];
    const Watermarks& mark = marks->at(entry.partition);
    const std::string_view metadata(static_cast<const char*>(entry.metadata),
                                    entry.metadata == nullptr ? 0 : entry.metadata_size);
    // No commit yet: the group starts at the first stored record.
    const PartitionLedger ledger(std::max(entry.offset, mark.low), metadata);
    const std::int64_t next = ledger.delivered_end();
    if (next >= mark.high) continue;
    auto stamp = reader->timestamp_at(topic, entry.partition, next);
    if (!stamp) return fail(stamp.error());
    progress.waiting_since_ms =
        progress.caught_up ? *stamp : std::min(progress.waiting_since_ms, *stamp);
    progress.caught_up = false;
  }
  return progress;
}

}  // namespace fleet::broker::kafka
