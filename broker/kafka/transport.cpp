// The Kafka Transport: one idempotent producer, the stream registry, and a consumer per
// subscription. See fleet/broker/kafka.hpp for how JetStream's ideas map onto Kafka.
#include <algorithm>
#include <mutex>

#include "fleet/broker/kafka.hpp"
#include "fleet/broker/state_store.hpp"
#include "fleet/broker/subject.hpp"
#include "kafka/delivery_progress.hpp"
#include "kafka/producer.hpp"
#include "kafka/records.hpp"
#include "kafka/registry.hpp"
#include "kafka/subscription.hpp"
#include "kafka/topic_reader.hpp"

namespace fleet::broker::kafka {

Result<std::unique_ptr<StreamStore>> open_stream_store(const Config& config, Producer& producer,
                                                       const std::string& stream);

namespace {

class KafkaTransport final : public Transport {
 public:
  KafkaTransport(Config config, std::unique_ptr<Producer> producer)
      : config_(std::move(config)),
        producer_(std::move(producer)),
        registry_(config_, *producer_) {}

  Status ensure_stream(const StreamConfig& stream) override {
    if (stream.name.empty() || stream.subjects.empty()) {
      return fail(Errc::invalid_argument, "stream needs a name and some subjects");
    }
    if (auto created = ensure_topic(stream.name); !created) return created;
    return registry_.put_stream(stream);
  }

  Status ensure_consumer(const ConsumerConfig& consumer) override {
    auto group = registry_.ensure_group(consumer.stream, consumer.durable);
    if (!group) return fail(group.error());
    return {};
  }

  Status remove_consumer(const std::string& stream, const std::string& durable) override {
    return registry_.remove(stream, durable);
  }

  // The registry entry goes first, so publishes stop being routed to the topic even when the
  // brokers refuse to delete it (then the error says so and the topic stays until removed).
  Status remove_stream(const std::string& name) override {
    if (auto removed = registry_.remove_stream(name); !removed) return removed;
    if (auto deleted = delete_topic(producer_->handle(), config_, name); !deleted) {
      return fail(deleted.error().code,
                  "removed from the registry, but the topic stays: " + deleted.error().message);
    }
    return {};
  }

  Result<PublishAck> publish(const Message& message, std::chrono::milliseconds timeout) override {
    auto stream = registry_.stream_for(message.subject);
    if (!stream) return fail(stream.error());
    return producer_->publish(*stream, *stream, message, timeout);
  }

  Status publish_async(const Message& message, PublishCallback done) override {
    auto stream = registry_.stream_for(message.subject);
    if (!stream) return fail(stream.error());
    return producer_->publish_async(*stream, *stream, message, std::move(done));
  }

  Status flush(std::chrono::milliseconds timeout) override { return producer_->flush(timeout); }

  Result<std::unique_ptr<Subscription>> subscribe(const ConsumerConfig& consumer) override {
    auto group = registry_.ensure_group(consumer.stream, consumer.durable);
    if (!group) return fail(group.error());
    return kafka::subscribe(config_, consumer, *group);
  }

  Result<std::vector<StreamInfo>> streams() override {
    auto streams = registry_.streams();
    if (!streams) return fail(streams.error());
    auto reader = TopicReader::open(config_);
    if (!reader) return fail(reader.error());
    std::vector<StreamInfo> infos;
    for (const auto& stream : *streams) {
      StreamInfo info{.name = stream.name, .subjects = stream.subjects};
      auto marks = reader->watermarks(stream.name);
      if (!marks) continue;  // listed but its topic is gone
      for (const auto& [partition, mark] : *marks) {
        info.messages += static_cast<std::uint64_t>(mark.high - mark.low);
        if (mark.high > mark.low) {
          const auto first = to_sequence(partition, mark.low);
          const auto last = to_sequence(partition, mark.high - 1);
          if (info.first_sequence == 0 || first < info.first_sequence) info.first_sequence = first;
          info.last_sequence = std::max(info.last_sequence, last);
        }
      }
      auto groups = registry_.groups(stream.name);
      if (groups) {
        for (const auto& [durable, group] : *groups) {
          info.consumers.push_back(consumer_info(durable, group, stream.name, *marks));
        }
      }
      infos.push_back(std::move(info));
    }
    return infos;
  }

  Result<std::map<std::string, std::uint64_t>> subject_counts(const std::string& stream,
                                                              const std::string& filter) override {
    auto reader = TopicReader::open(config_);
    if (!reader) return fail(reader.error());
    std::map<std::string, std::uint64_t> counts;
    auto read = reader->read(stream, {}, [&](const rd_kafka_message_t& record) {
      const Message message = to_message(record);
      if (filter.empty() || subject_matches(filter, message.subject)) ++counts[message.subject];
      return true;
    });
    if (!read) return fail(read.error());
    return counts;
  }

  Result<DeliveryProgress> delivery_progress(const std::string& stream,
                                             const std::string& durable) override {
    auto group = registry_.group_of(stream, durable);
    if (!group) return fail(group.error());
    return kafka::delivery_progress(config_, stream, *group);
  }

  bool connected() const override {
    const struct rd_kafka_metadata* raw = nullptr;
    if (rd_kafka_metadata(producer_->handle(), 0, nullptr, &raw, 1'000) !=
        RD_KAFKA_RESP_ERR_NO_ERROR) {
      return false;
    }
    MetadataPtr metadata(raw);
    return metadata->broker_cnt > 0;
  }

  // Kafka has no key-value store: buckets live in the SQL state store (config.state_url),
  // opened on first use and shared by this transport's buckets.
  Result<std::unique_ptr<KeyValue>> key_value(const BucketConfig& bucket) override {
    std::lock_guard lock(state_mutex_);
    if (!state_) {
      auto opened = state::open(config_.state_url);
      if (!opened) return fail(opened.error());
      state_ = std::move(*opened);
    }
    return state_->bucket(bucket);
  }

  Result<std::unique_ptr<StreamStore>> stream_store(const std::string& stream) override {
    // A stream is a topic the registry lists (ensure_stream put it there). Asking the brokers
    // is not enough: a broker too old for the Metadata request's allow-auto-create flag (the
    // mock cluster; librdkafka warns "allow.auto.create.topics=false not supported by broker")
    // creates any topic a reader asks about, so a mistyped name would become a stream.
    auto streams = registry_.streams();
    if (!streams) return fail(streams.error());
    if (std::ranges::none_of(*streams, [&](const StreamConfig& s) { return s.name == stream; })) {
      return fail(Errc::not_found, "stream " + stream + " does not exist");
    }
    return open_stream_store(config_, *producer_, stream);
  }

 private:
  Status ensure_topic(const std::string& topic) {
    return kafka::ensure_topic(producer_->handle(), config_, topic);
  }

  ConsumerInfo consumer_info(const std::string& durable, const std::string& group,
                             const std::string& topic,
                             const std::map<std::int32_t, Watermarks>& marks) {
    ConsumerInfo info{.name = durable};
    auto list = committed_offsets(config_, topic, group, marks);
    if (!list) return info;
    for (int i = 0; i < (*list)->cnt; ++i) {
      const auto& entry = (*list)->elems[i];
      const auto& mark = marks.at(entry.partition);
      const std::int64_t from = entry.offset >= 0 ? std::max(entry.offset, mark.low) : mark.low;
      info.pending += static_cast<std::uint64_t>(std::max<std::int64_t>(0, mark.high - from));
    }
    return info;
  }

  Config config_;
  std::unique_ptr<Producer> producer_;
  Registry registry_;
  std::mutex state_mutex_;
  std::shared_ptr<state::Store> state_;
};

}  // namespace

Result<std::unique_ptr<Transport>> connect(const Config& config) {
  auto producer = Producer::start(config);
  if (!producer) return fail(producer.error());
  // librdkafka connects lazily: ask for metadata so an unreachable cluster is an error now.
  const struct rd_kafka_metadata* raw = nullptr;
  const auto err = rd_kafka_metadata((*producer)->handle(), 0, nullptr, &raw,
                                     static_cast<int>(config.request_timeout.count()));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return fail(Errc::unavailable,
                "no Kafka broker answered at " + config.brokers + ": " + rd_kafka_err2str(err));
  }
  MetadataPtr metadata(raw);
  return std::unique_ptr<Transport>(std::make_unique<KafkaTransport>(config, std::move(*producer)));
}

}  // namespace fleet::broker::kafka
