#include "kafka/subscription.hpp"

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "fleet/broker/subject.hpp"
#include "kafka/handles.hpp"
#include "kafka/partition_ledger.hpp"
#include "kafka/records.hpp"

namespace fleet::broker::kafka {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using RecordPtr = std::shared_ptr<rd_kafka_message_t>;

struct Outstanding {
  std::uint64_t token = 0;     // which delivery of the record may settle it
  Clock::time_point deadline;  // delivered again after this (ack wait / retry delay)
  bool held = false;           // waiting for its retry delay, not in a handler's hands
  RecordPtr record;
};

struct Partition {
  Partition(std::int64_t committed, std::string_view metadata) : ledger(committed, metadata) {}
  PartitionLedger ledger;
  std::map<std::int64_t, Outstanding> outstanding;
  std::uint64_t generation = 0;  // this assignment; settles of an earlier one are ignored
};

// State shared by the subscription and its deliveries' handles (which may outlive it).
struct Core {
  Config config;
  ConsumerConfig consumer;
  KafkaPtr handle;
  QueuePtr queue;

  std::mutex mutex;
  std::condition_variable settled;
  std::map<std::int32_t, Partition> partitions;
  std::uint64_t next_token = 1;
  std::uint64_t next_generation = 1;
  std::size_t in_hands = 0;  // deliveries handed out and not settled (not counting held ones)
  Clock::time_point last_commit;
  // Records polled by the poller thread and not yet handed out. The poller keeps polling (so
  // rebalances are served even while the worker is busy) and pauses the partitions while the
  // buffer is full.
  std::deque<RecordPtr> buffer;
  // Pausing makes librdkafka drop its prefetched records and fetch them again on resume, so
  // pause late and resume only once the buffer is mostly drained.
  std::size_t buffer_limit = 10'000;
  bool paused = false;
  std::atomic<bool> stopping{false};
  std::condition_variable arrived;  // records buffered, or a delivery settled or held

  // Under `mutex`. Removes the record from `outstanding` and settles its offset, if `token` is
  // still the record's current delivery in this assignment.
  void settle(std::int32_t partition, std::uint64_t generation, std::int64_t offset,
              std::uint64_t token) {
    auto p = partitions.find(partition);
    if (p == partitions.end() || p->second.generation != generation) return;
    auto it = p->second.outstanding.find(offset);
    if (it == p->second.outstanding.end() || it->second.token != token) return;
    if (!it->second.held) --in_hands;
    p->second.outstanding.erase(it);
    p->second.ledger.settle(offset);
    settled.notify_all();
    arrived.notify_all();
  }

  // Offsets and counts of the partitions that need saving (all when `everything`); marks them
  // saved. Under `mutex`.
  PartitionListPtr commit_list(bool everything) {
    PartitionListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size())));
    for (auto& [id, partition] : partitions) {
      auto& ledger = partition.ledger;
      if (ledger.commit_offset() < 0) continue;
      if (!everything && !ledger.counts_unsaved() && !ledger.offset_unsaved()) continue;
      auto* entry = rd_kafka_topic_partition_list_add(list.get(), consumer.stream.c_str(), id);
      entry->offset = ledger.commit_offset();
      const std::string metadata = ledger.metadata();
      entry->metadata = metadata.empty() ? nullptr : strdup(metadata.c_str());  // list frees it
      entry->metadata_size = metadata.size();
      ledger.saved();
    }
    return list;
  }

  void commit(bool sync, bool everything) {
    PartitionListPtr list;
    {
      std::lock_guard lock(mutex);
      list = commit_list(everything);
      last_commit = Clock::now();
    }
    if (list->cnt > 0) (void)rd_kafka_commit(handle.get(), list.get(), sync ? 0 : 1);
  }

  void assign(rd_kafka_topic_partition_list_t* list) {
    // Where the group left off, with the delivery counts committed alongside.
    (void)rd_kafka_committed(handle.get(), list, static_cast<int>(config.request_timeout.count()));
    {
      std::lock_guard lock(mutex);
      for (int i = 0; i < list->cnt; ++i) {
        const auto& entry = list->elems[i];
        const std::string_view metadata =
            entry.metadata == nullptr
                ? std::string_view()
                : std::string_view(static_cast<const char*>(entry.metadata), entry.metadata_size);
        auto [it, fresh] = partitions.insert_or_assign(
            entry.partition, Partition(entry.offset >= 0 ? entry.offset : -1, metadata));
        it->second.generation = next_generation++;
      }
    }
    ErrorPtr error(rd_kafka_incremental_assign(handle.get(), list));
  }

  void revoke(rd_kafka_topic_partition_list_t* list, bool lost) {
    if (!lost) {
      // Let the handlers finish what they hold of these partitions, then commit it.
      std::unique_lock lock(mutex);
      auto busy = [&] {
        for (int i = 0; i < list->cnt; ++i) {
          auto p = partitions.find(list->elems[i].partition);
          if (p == partitions.end()) continue;
          for (const auto& [offset, out] : p->second.outstanding) {
            if (!out.held) return true;
          }
        }
        return false;
      };
      settled.wait_for(lock, config.revoke_wait, [&] { return !busy(); });
      PartitionListPtr commits(rd_kafka_topic_partition_list_new(list->cnt));
      for (int i = 0; i < list->cnt; ++i) {
        auto p = partitions.find(list->elems[i].partition);
        if (p == partitions.end() || p->second.ledger.commit_offset() < 0) continue;
        auto* entry =
            rd_kafka_topic_partition_list_add(commits.get(), consumer.stream.c_str(), p->first);
        entry->offset = p->second.ledger.commit_offset();
        const std::string metadata = p->second.ledger.metadata();
        entry->metadata = metadata.empty() ? nullptr : strdup(metadata.c_str());
        entry->metadata_size = metadata.size();
      }
      lock.unlock();
      if (commits->cnt > 0) (void)rd_kafka_commit(handle.get(), commits.get(), 0);
    }
    {
      std::lock_guard lock(mutex);
      std::erase_if(buffer, [list](const RecordPtr& record) {
        for (int i = 0; i < list->cnt; ++i) {
          if (list->elems[i].partition == record->partition) return true;
        }
        return false;
      });
      for (int i = 0; i < list->cnt; ++i) {
        auto p = partitions.find(list->elems[i].partition);
        if (p == partitions.end()) continue;
        for (const auto& [offset, out] : p->second.outstanding) {
          if (!out.held) --in_hands;
        }
        partitions.erase(p);
      }
      settled.notify_all();
    }
    ErrorPtr error(rd_kafka_incremental_unassign(handle.get(), list));
  }

  // The poller thread: keeps the consumer polled, buffering what arrives.
  // Settled offsets are committed from here at most every 100 ms, even while nobody fetches.
  void save_settled() {
    {
      std::lock_guard lock(mutex);
      if (Clock::now() - last_commit < milliseconds(100)) return;
      bool due = false;
      for (auto& [id, partition] : partitions) due = due || partition.ledger.offset_unsaved();
      if (!due) return;
    }
    commit(false, false);
  }

  void poll_loop() {
    std::vector<rd_kafka_message_t*> batch(500);
    while (!stopping.load()) {
      // consume_batch_queue waits for a full batch or the timeout: take what is there, and
      // only when nothing is, wait (up to 100 ms) for one record.
      ssize_t got = rd_kafka_consume_batch_queue(queue.get(), 0, batch.data(), batch.size());
      if (got == 0) got = rd_kafka_consume_batch_queue(queue.get(), 100, batch.data(), 1);
      if (got < 0) got = 0;
      save_settled();
      std::lock_guard lock(mutex);
      for (ssize_t i = 0; i < got; ++i) {
        RecordPtr record(batch[i], rd_kafka_message_destroy);
        if (record->err == RD_KAFKA_RESP_ERR_NO_ERROR) buffer.push_back(std::move(record));
      }
      if (got > 0) arrived.notify_all();
      const bool full = paused ? buffer.size() > buffer_limit / 4 : buffer.size() >= buffer_limit;
      if (full != paused) {
        PartitionListPtr assigned;
        rd_kafka_topic_partition_list_t* raw = nullptr;
        if (rd_kafka_assignment(handle.get(), &raw) == RD_KAFKA_RESP_ERR_NO_ERROR) {
          assigned.reset(raw);
          if (full) {
            rd_kafka_pause_partitions(handle.get(), assigned.get());
          } else {
            rd_kafka_resume_partitions(handle.get(), assigned.get());
          }
          paused = full;
        }
      }
    }
  }

  static void on_rebalance(rd_kafka_t*, rd_kafka_resp_err_t err,
                           rd_kafka_topic_partition_list_t* list, void* opaque) {
    auto* core = static_cast<Core*>(opaque);
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
      core->assign(list);
    } else {
      core->revoke(list, rd_kafka_assignment_lost(core->handle.get()) != 0);
    }
  }
};

class Handle final : public Delivery::Handle {
 public:
  Handle(std::shared_ptr<Core> core, std::int32_t partition, std::uint64_t generation,
         std::int64_t offset, std::uint64_t token)
      : core_(std::move(core)),
        partition_(partition),
        generation_(generation),
        offset_(offset),
        token_(token) {}

  Status ack() override { return settle(); }
  Status terminate() override { return settle(); }

  Status retry_after(milliseconds delay) override {
    return touch([&](Outstanding& out) {
      if (!out.held) --core_->in_hands;
      out.held = true;
      out.deadline = Clock::now() + delay;
      core_->settled.notify_all();
    });
  }
  Status in_progress() override {
    return touch([&](Outstanding& out) { out.deadline = Clock::now() + core_->consumer.ack_wait; });
  }

 private:
  Status settle() {
    std::lock_guard lock(core_->mutex);
    core_->settle(partition_, generation_, offset_, token_);
    return {};
  }
  template <class Change>
  Status touch(Change change) {
    std::lock_guard lock(core_->mutex);
    auto p = core_->partitions.find(partition_);
    if (p == core_->partitions.end() || p->second.generation != generation_) return {};
    auto it = p->second.outstanding.find(offset_);
    if (it == p->second.outstanding.end() || it->second.token != token_) return {};
    change(it->second);
    return {};
  }

  std::shared_ptr<Core> core_;
  std::int32_t partition_;
  std::uint64_t generation_;
  std::int64_t offset_;
  std::uint64_t token_;
};

class KafkaSubscription final : public Subscription {
 public:
  explicit KafkaSubscription(std::shared_ptr<Core> core) : core_(std::move(core)) {
    poller_ = std::thread([core = core_] { core->poll_loop(); });
  }

  ~KafkaSubscription() override {
    core_->stopping = true;
    poller_.join();
    // Revokes every partition (committing what was settled) and leaves the group.
    (void)rd_kafka_consumer_close(core_->handle.get());
  }

  Result<std::vector<Delivery>> fetch(std::size_t max, milliseconds wait) override {
    std::vector<Delivery> deliveries;
    const auto deadline = Clock::now() + wait;
    {
      std::unique_lock lock(core_->mutex);
      for (;;) {
        const auto now = Clock::now();
        redeliver_due(deliveries, max, now);
        take_buffered(deliveries, max, now);
        if (!deliveries.empty() || now >= deadline) break;
        core_->arrived.wait_until(lock, std::min(deadline, next_due(now)));
      }
    }
    save(!deliveries.empty());
    return deliveries;
  }

 private:
  // Under the mutex: how many more may be handed out now.
  std::size_t room(std::size_t max, std::size_t have) const {
    std::size_t room = max > have ? max - have : 0;
    const int cap = core_->consumer.max_ack_pending;
    if (cap > 0) {
      const auto limit = static_cast<std::size_t>(cap);
      room = std::min(room, core_->in_hands >= limit ? 0 : limit - core_->in_hands);
    }
    return room;
  }

  Clock::time_point next_due(Clock::time_point now) const {
    auto next = now + milliseconds(1'000);
    for (const auto& [id, partition] : core_->partitions) {
      for (const auto& [offset, out] : partition.outstanding) next = std::min(next, out.deadline);
    }
    return next;
  }

  // Under the mutex: records whose retry delay or ack wait ran out, delivered again.
  void redeliver_due(std::vector<Delivery>& deliveries, std::size_t max, Clock::time_point now) {
    const int max_deliver = core_->consumer.max_deliver;
    for (auto& [id, partition] : core_->partitions) {
      std::vector<std::pair<std::int64_t, std::uint64_t>> exhausted;  // offset, token
      for (auto& [offset, out] : partition.outstanding) {
        if (out.deadline > now) continue;
        // A held record re-enters the handlers' hands; an expired one already counts.
        if (out.held && room(max, deliveries.size()) == 0) break;
        if (!out.held && deliveries.size() >= max) break;
        const std::uint32_t attempt = partition.ledger.redelivered(offset);
        if (max_deliver > 0 && attempt > static_cast<std::uint32_t>(max_deliver)) {
          exhausted.emplace_back(offset, out.token);  // as JetStream: never delivered again
          continue;
        }
        if (out.held) ++core_->in_hands;
        out.held = false;
        out.token = core_->next_token++;
        out.deadline = now + core_->consumer.ack_wait;
        deliveries.emplace_back(
            to_message(*out.record), attempt, to_sequence(id, offset),
            std::make_unique<Handle>(core_, id, partition.generation, offset, out.token),
            PartitionOffset{.partition = id, .offset = offset});
      }
      for (auto [offset, token] : exhausted) core_->settle(id, partition.generation, offset, token);
    }
  }

  // Under the mutex: new records from the poller's buffer.
  void take_buffered(std::vector<Delivery>& deliveries, std::size_t max, Clock::time_point now) {
    const auto& filter = core_->consumer.filter_subject;
    const int max_deliver = core_->consumer.max_deliver;
    while (!core_->buffer.empty() && room(max, deliveries.size()) > 0) {
      RecordPtr record = std::move(core_->buffer.front());
      core_->buffer.pop_front();
      auto p = core_->partitions.find(record->partition);
      if (p == core_->partitions.end()) continue;  // revoked meanwhile
      Partition& partition = p->second;
      const std::int64_t offset = record->offset;
      if (partition.outstanding.contains(offset)) continue;  // fetched again after a resume
      const std::uint32_t attempt = partition.ledger.fetched(offset);
      if (attempt == 0) continue;  // settled already
      Message message = to_message(*record);
      if ((!filter.empty() && !subject_matches(filter, message.subject)) ||
          (max_deliver > 0 && attempt > static_cast<std::uint32_t>(max_deliver))) {
        partition.ledger.settle(offset);
        continue;
      }
      const std::uint64_t token = core_->next_token++;
      partition.outstanding[offset] =
          Outstanding{token, now + core_->consumer.ack_wait, false, record};
      ++core_->in_hands;
      deliveries.emplace_back(
          std::move(message), attempt, to_sequence(record->partition, offset),
          std::make_unique<Handle>(core_, record->partition, partition.generation, offset, token),
          PartitionOffset{.partition = record->partition, .offset = offset});
    }
  }

  // Delivery counts are committed before the records are handed out: a crash from here on
  // counts as an attempt.
  void save(bool delivering) {
    if (delivering) core_->commit(true, false);
  }

  std::shared_ptr<Core> core_;
  std::thread poller_;
};

}  // namespace

Result<std::unique_ptr<Subscription>> subscribe(const Config& config,
                                                const ConsumerConfig& consumer,
                                                const std::string& group) {
  auto core = std::make_shared<Core>();
  core->config = config;
  core->consumer = consumer;
  std::map<std::string, std::string> properties = {
      {"bootstrap.servers", config.brokers},
      {"client.id", config.name},
      {"group.id", group},
      {"partition.assignment.strategy", "cooperative-sticky"},
      // Offsets are committed by the subscription itself, with the delivery counts.
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"auto.offset.reset", "earliest"},  // a new durable reads the stream from its start
      {"session.timeout.ms", std::to_string(config.session_timeout.count())},
      {"heartbeat.interval.ms", "1000"},
  };
  for (const auto& [name, value] : config.properties) properties[name] = value;
  auto conf = make_conf(properties);
  if (!conf) return fail(conf.error());
  rd_kafka_conf_set_rebalance_cb(conf->get(), &Core::on_rebalance);
  rd_kafka_conf_set_opaque(conf->get(), core.get());
  auto handle = make_client(RD_KAFKA_CONSUMER, std::move(*conf));
  if (!handle) return fail(handle.error());
  core->handle = std::move(*handle);
  rd_kafka_poll_set_consumer(core->handle.get());
  core->queue.reset(rd_kafka_queue_get_consumer(core->handle.get()));
  PartitionListPtr topics(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(topics.get(), consumer.stream.c_str(), RD_KAFKA_PARTITION_UA);
  if (auto err = rd_kafka_subscribe(core->handle.get(), topics.get())) {
    return fail(kafka_error(err, "subscribe to " + consumer.stream));
  }
  return std::unique_ptr<Subscription>(std::make_unique<KafkaSubscription>(std::move(core)));
}

}  // namespace fleet::broker::kafka
