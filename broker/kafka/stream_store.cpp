// StreamStore on Kafka: a topic read by (partition, offset) without a consumer group.
//
// Sequences are to_sequence(partition, offset), so sequence order is partition by partition, in
// offset order. Kafka cannot delete one record, so remove() *marks* it: a record in the
// companion topic "<stream>.removed" whose key is the sequence in decimal (any value; a
// tombstone for the key unmarks it). The store reads every mark when it opens, skips marked
// sequences in scan and get, and answers Errc::not_found for them in get and remove. Another
// process's marks written after this store opened are not seen until it is opened again.
// remove_async answers not_found (calling `done` on the caller's thread) without asking the
// brokers; other answers come from the producer's delivery report on its poll thread.
#include <algorithm>
#include <charconv>
#include <condition_variable>
#include <future>
#include <limits>
#include <mutex>
#include <optional>
#include <set>

#include "fleet/broker/kafka.hpp"
#include "fleet/broker/subject.hpp"
#include "kafka/producer.hpp"
#include "kafka/records.hpp"
#include "kafka/topic_reader.hpp"

namespace fleet::broker::kafka {
namespace {

constexpr std::int64_t kSkipPartition = std::numeric_limits<std::int64_t>::max();
const std::string kMarkValue = "removed";

std::string removed_topic(const std::string& stream) {
  return stream + ".removed";
}

// Shared with the producer's delivery callbacks, which may outlive a store destroyed early.
struct Marks {
  std::mutex mutex;
  std::condition_variable idle;
  std::set<std::uint64_t> removed;  // marked, or being marked
  long outstanding = 0;             // remove_async calls awaiting the broker's answer
};

class KafkaStreamStore final : public StreamStore {
 public:
  KafkaStreamStore(const Config& config, Producer& producer, std::string stream, TopicReader reader,
                   std::map<std::int32_t, Watermarks> watermarks, std::set<std::uint64_t> removed)
      : producer_(producer),
        stream_(std::move(stream)),
        removed_topic_(removed_topic(stream_)),
        timeout_(config.request_timeout),
        reader_(std::move(reader)),
        watermarks_(std::move(watermarks)),
        marks_(std::make_shared<Marks>()) {
    marks_->removed = std::move(removed);
  }

  ~KafkaStreamStore() override { (void)flush(timeout_); }

  Status scan(std::uint64_t from, const std::string& subject_filter,
              const std::function<bool(StoredMessage&)>& visit) override {
    auto marks = refresh_watermarks();
    if (!marks) return fail(marks.error());
    // Partitions below from's are skipped; from's starts at its offset, later ones at the start.
    const std::int32_t first = partition_of(from);
    std::map<std::int32_t, std::int64_t> start;
    for (const auto& [partition, mark] : *marks) {
      start[partition] = partition < first    ? kSkipPartition
                         : partition == first ? offset_of(from)
                                              : mark.low;
    }
    return reader_.read(stream_, start, [&](const rd_kafka_message_t& record) {
      StoredMessage stored{.sequence = to_sequence(record.partition, record.offset), .message = {}};
      if (is_removed(stored.sequence)) return true;
      stored.message = to_message(record);
      if (!subject_filter.empty() && !subject_matches(subject_filter, stored.message.subject)) {
        return true;
      }
      return visit(stored);
    });
  }

  Result<StoredMessage> get(std::uint64_t sequence) override {
    if (is_removed(sequence)) return fail(not_found(sequence, "removed"));
    const std::int32_t partition = partition_of(sequence);
    const std::int64_t offset = offset_of(sequence);
    auto marks = refresh_watermarks();
    if (!marks) return fail(marks.error());
    auto mark = marks->find(partition);
    if (mark == marks->end() || offset < mark->second.low || offset >= mark->second.high) {
      return fail(not_found(sequence, "not stored"));
    }
    std::map<std::int32_t, std::int64_t> start;
    for (const auto& [p, m] : *marks) start[p] = p == partition ? offset : kSkipPartition;
    std::optional<StoredMessage> found;
    auto read = reader_.read(stream_, start, [&](const rd_kafka_message_t& record) {
      if (record.partition == partition && record.offset == offset) {
        found = StoredMessage{.sequence = sequence, .message = to_message(record)};
      }
      return false;  // the first record at or after `offset` decides
    });
    if (!read) return fail(read.error());
    if (!found) return fail(not_found(sequence, "not stored"));
    return std::move(*found);
  }

  Status remove(std::uint64_t sequence) override {
    auto answer = std::make_shared<std::promise<Status>>();
    auto future = answer->get_future();
    auto sent = remove_async(sequence, [answer](const Status& s) { answer->set_value(s); });
    if (!sent) return sent;
    if (future.wait_for(timeout_) != std::future_status::ready) {
      return fail(Errc::timeout, "removal of " + std::to_string(sequence) + " not confirmed");
    }
    return future.get();
  }

  Status remove_async(std::uint64_t sequence, std::function<void(const Status&)> done) override {
    if (!stored(sequence)) {
      done(fail(not_found(sequence, "not stored")));
      return {};
    }
    {
      std::lock_guard lock(marks_->mutex);
      // Marked before the broker confirms, so a second removal of it answers not_found.
      if (!marks_->removed.insert(sequence).second) {
        done(fail(not_found(sequence, "already removed")));
        return {};
      }
      ++marks_->outstanding;
    }
    const std::string key = std::to_string(sequence);
    auto marks = marks_;
    auto sent = producer_.publish_raw_async(removed_topic_, key, &kMarkValue,
                                            [marks, sequence, done](const Result<PublishAck>& ack) {
                                              if (!ack) {
                                                std::lock_guard lock(marks->mutex);
                                                marks->removed.erase(sequence);
                                              }
                                              done(ack ? Status{} : Status(fail(ack.error())));
                                              std::lock_guard lock(marks->mutex);
                                              if (--marks->outstanding == 0)
                                                marks->idle.notify_all();
                                            });
    if (!sent) {
      std::lock_guard lock(marks_->mutex);
      marks_->removed.erase(sequence);
      if (--marks_->outstanding == 0) marks_->idle.notify_all();
      return sent;
    }
    return {};
  }

  Status flush(std::chrono::milliseconds timeout) override {
    std::unique_lock lock(marks_->mutex);
    if (!marks_->idle.wait_for(lock, timeout, [&] { return marks_->outstanding == 0; })) {
      return fail(Errc::timeout, std::to_string(marks_->outstanding) + " removals of " + stream_ +
                                     " still unconfirmed");
    }
    return {};
  }

 private:
  Error not_found(std::uint64_t sequence, const std::string& why) const {
    return {Errc::not_found,
            "no " + stream_ + " message " + std::to_string(sequence) + " (" + why + ")"};
  }

  bool is_removed(std::uint64_t sequence) {
    std::lock_guard lock(marks_->mutex);
    return marks_->removed.contains(sequence);
  }

  Result<std::map<std::int32_t, Watermarks>> refresh_watermarks() {
    auto marks = reader_.watermarks(stream_);
    if (!marks) return fail(marks.error());
    std::lock_guard lock(watermarks_mutex_);
    watermarks_ = *marks;
    return marks;
  }

  // Whether the topic holds `sequence`, by the watermarks: offsets in [low, high) are stored
  // (no transactions write to a stream, so there are no control records between them). Any
  // thread: the cached watermarks are asked again only for an offset beyond them.
  bool stored(std::uint64_t sequence) {
    const std::int32_t partition = partition_of(sequence);
    const std::int64_t offset = offset_of(sequence);
    {
      std::lock_guard lock(watermarks_mutex_);
      auto mark = watermarks_.find(partition);
      if (mark != watermarks_.end() && offset >= mark->second.low && offset < mark->second.high) {
        return true;
      }
    }
    auto fresh = topic_partitions(reader_.handle(), stream_, timeout_);
    if (!fresh || std::find(fresh->begin(), fresh->end(), partition) == fresh->end()) return false;
    std::int64_t low = 0, high = 0;
    if (rd_kafka_query_watermark_offsets(reader_.handle(), stream_.c_str(), partition, &low, &high,
                                         static_cast<int>(timeout_.count())) !=
        RD_KAFKA_RESP_ERR_NO_ERROR) {
      return false;
    }
    std::lock_guard lock(watermarks_mutex_);
    watermarks_[partition] = Watermarks{.low = low, .high = high};
    return offset >= low && offset < high;
  }

  Producer& producer_;
  const std::string stream_;
  const std::string removed_topic_;
  const std::chrono::milliseconds timeout_;
  TopicReader reader_;  // scan and get: the owner thread only
  std::mutex watermarks_mutex_;
  std::map<std::int32_t, Watermarks> watermarks_;
  std::shared_ptr<Marks> marks_;
};

// The marks in "<stream>.removed": sequences keyed in decimal; a null value unmarks.
Result<std::set<std::uint64_t>> read_marks(TopicReader& reader, const std::string& stream) {
  std::set<std::uint64_t> removed;
  auto read = reader.read(removed_topic(stream), {}, [&](const rd_kafka_message_t& record) {
    if (record.key == nullptr) return true;
    const char* key = static_cast<const char*>(record.key);
    std::uint64_t sequence = 0;
    const auto [end, ec] = std::from_chars(key, key + record.key_len, sequence);
    if (ec != std::errc() || end != key + record.key_len) return true;  // not ours
    if (record.payload == nullptr) {
      removed.erase(sequence);
    } else {
      removed.insert(sequence);
    }
    return true;
  });
  if (!read && read.error().code != Errc::not_found) return fail(read.error());
  return removed;
}

}  // namespace

Result<std::unique_ptr<StreamStore>> open_stream_store(const Config& config, Producer& producer,
                                                       const std::string& stream) {
  auto reader = TopicReader::open(config);
  if (!reader) return fail(reader.error());
  // The reader is a consumer, which never makes a broker auto-create the topic it asks about.
  auto watermarks = reader->watermarks(stream);
  if (!watermarks) return fail(watermarks.error());
  // The mark topic exists before the first removal, so remove_async (called from publish
  // callbacks during a replay) never waits for a topic to be created.
  if (auto created = ensure_topic(producer.handle(), config, removed_topic(stream)); !created) {
    return fail(created.error());
  }
  auto removed = read_marks(*reader, stream);
  if (!removed) return fail(removed.error());
  return std::unique_ptr<StreamStore>(std::make_unique<KafkaStreamStore>(
      config, producer, stream, std::move(*reader), std::move(*watermarks), std::move(*removed)));
}

}  // namespace fleet::broker::kafka
