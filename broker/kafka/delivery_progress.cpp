#include "kafka/delivery_progress.hpp"

#include <algorithm>

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

  auto list = committed_offsets(config, topic, group, *marks);
  if (!list) return fail(list.error());

  DeliveryProgress progress{.caught_up = true};
  for (int i = 0; i < (*list)->cnt; ++i) {
    const auto& entry = (*list)->elems[i];
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
