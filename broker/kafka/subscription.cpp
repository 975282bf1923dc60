#include "kafka/subscription.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "fleet/broker/subject.hpp"
#include "fleet/thread_name.hpp"
#include "kafka/handles.hpp"
#include "kafka/instance_name.hpp"
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
  // False between being taken by fetch and being handed out (after its delivery count was
  // committed). A rebalance waits only for handed-out records; fetch drops the others when
  // their partition was revoked meanwhile.
  bool handed = false;
  RecordPtr record;
};

struct Partition {
  Partition(std::int64_t committed, std::string_view metadata) : ledger(committed, metadata) {}
  PartitionLedger ledger;
  std::map<std::int64_t, Outstanding> outstanding;
  std::uint64_t generation = 0;  // this assignment; settles of an earlier one are ignored
};

std::atomic<int> records_to_lose{0};  // lose_polled_records
constexpr int seek_wait_ms = 5'000;   // a seek is local to the client: this is a hang guard

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
  // Records polled by the poller thread and not yet handed out. The poller keeps polling (so
  // rebalances are served even while the worker is busy) and pauses the partitions while the
  // buffer is full.
  std::deque<RecordPtr> buffer;
  // Pausing makes librdkafka drop its prefetched records and fetch them again on resume, so
  // pause late (Config::buffer_limit) and resume only once the buffer is mostly drained.
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

  // Commits: one thread (`committer`) sends every commit, synchronously and one at a time, from a
  // snapshot taken when it starts. So commits reach the coordinator in the order their snapshots
  // were taken and the committed offset and counts never step back. A partition counts as saved
  // only once the coordinator accepted its entry; anything refused stays unsaved and goes out
  // again with the next commit (at least every `commit_interval`). Callers never hold a lock
  // across a commit: they ask for one and wait for a commit that started after they asked.
  std::condition_variable commit_wanted;  // a commit was asked for, or stopping
  std::condition_variable commit_done;    // a commit finished (accepted or not)
  std::uint64_t commits_asked = 0;        // under mutex
  std::uint64_t commits_finished = 0;     // under mutex: commits_asked when the last one started
  bool committer_stopping = false;        // under mutex
  // Under mutex: a commit was refused because the group is rebalancing; no commit is sent
  // until the rebalance callback ran (or, should none come, a session timeout passed).
  Clock::time_point rebalancing_until{};
  bool rebalancing() const { return Clock::now() < rebalancing_until; }
  static constexpr milliseconds commit_interval{100};

  // Under `mutex`: asks for a commit; returns the ticket to wait for.
  std::uint64_t ask_commit() {
    commit_wanted.notify_one();
    return ++commits_asked;
  }
  // Under `mutex` (through `lock`): waits until a commit asked for with `ticket` finished, or
  // `until`. True when it finished.
  bool wait_commit(std::unique_lock<std::mutex>& lock, std::uint64_t ticket,
                   Clock::time_point until) {
    return commit_done.wait_until(lock, until, [&] {
      return commits_finished >= ticket || committer_stopping;
    }) && commits_finished >= ticket;
  }

  bool anything_unsaved() const {
    for (const auto& [id, partition] : partitions) {
      const auto& ledger = partition.ledger;
      if (ledger.commit_offset() >= 0 && (ledger.counts_unsaved() || ledger.offset_unsaved())) {
        return true;
      }
    }
    return false;
  }

  void commit_loop() {
    std::unique_lock lock(mutex);
    while (!committer_stopping) {
      commit_wanted.wait_for(lock, commit_interval, [&] {
        return committer_stopping || commits_asked > commits_finished;
      });
      if (committer_stopping) break;
      const std::uint64_t ticket = commits_asked;
      // While the group rebalances the coordinator refuses commits, and librdkafka rejoins
      // only once no commit is outstanding: sending more would keep this member out of the
      // new generation until the coordinator evicts it (and its partitions are lost). Wait
      // for the rebalance callback instead.
      const bool send = anything_unsaved() && !rebalancing();
      const bool accepted = !send || commit_once(lock);
      commits_finished = ticket;
      commit_done.notify_all();
      // A refused commit is sent again, but not at once.
      if (!accepted)
        commit_wanted.wait_for(lock, commit_interval, [&] { return committer_stopping; });
    }
    commit_done.notify_all();
  }

  // Under `mutex` (released while the commit is on its way): commits every partition with
  // something unsaved, and marks what the coordinator accepted as saved. True when all of it
  // was accepted.
  bool commit_once(std::unique_lock<std::mutex>& lock) {
    struct Sent {
      std::int32_t partition;
      std::uint64_t generation;
      PartitionLedger::Commit commit;
    };
    std::vector<Sent> sent;
    PartitionListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size())));
    for (auto& [id, partition] : partitions) {
      const auto& ledger = partition.ledger;
      if (ledger.commit_offset() < 0) continue;
      if (!ledger.counts_unsaved() && !ledger.offset_unsaved()) continue;
      Sent entry{id, partition.generation, ledger.to_commit()};
      auto* element = rd_kafka_topic_partition_list_add(list.get(), consumer.stream.c_str(), id);
      element->offset = entry.commit.offset;
      const std::string& metadata = entry.commit.metadata;
      element->metadata = metadata.empty() ? nullptr : strdup(metadata.c_str());  // list frees it
      element->metadata_size = metadata.size();
      sent.push_back(std::move(entry));
    }
    lock.unlock();
    const rd_kafka_resp_err_t err = rd_kafka_commit(handle.get(), list.get(), 0);
    lock.lock();
    bool accepted = err == RD_KAFKA_RESP_ERR_NO_ERROR;
    if (group_changing(err)) rebalancing_until = Clock::now() + config.session_timeout;
    for (std::size_t i = 0; i < sent.size(); ++i) {
      const rd_kafka_resp_err_t entry_err = list->elems[i].err;
      if (group_changing(entry_err)) rebalancing_until = Clock::now() + config.session_timeout;
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR || entry_err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        accepted = false;
        continue;
      }
      auto p = partitions.find(sent[i].partition);
      // Revoked (or revoked and assigned again) meanwhile: the new owner starts from what is
      // committed.
      if (p == partitions.end() || p->second.generation != sent[i].generation) continue;
      p->second.ledger.saved(sent[i].commit);
    }
    return accepted;
  }

  // The coordinator's answers that mean this member's generation is over or ending.
  static bool group_changing(rd_kafka_resp_err_t err) {
    return err == RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS ||
           err == RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION ||
           err == RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID ||
           err == RD_KAFKA_RESP_ERR_FENCED_INSTANCE_ID;
  }

  void stop_committer() {
    std::lock_guard lock(mutex);
    committer_stopping = true;
    commit_wanted.notify_all();
    commit_done.notify_all();
  }

  void assign(rd_kafka_topic_partition_list_t* list) {
    // Where the group left off, with the delivery counts committed alongside.
    (void)rd_kafka_committed(handle.get(), list, static_cast<int>(config.request_timeout.count()));
    {
      std::lock_guard lock(mutex);
      rebalancing_until = {};
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
    if (cooperative()) {
      ErrorPtr error(rd_kafka_incremental_assign(handle.get(), list));
    } else {
      (void)rd_kafka_assign(handle.get(), list);  // eager: the whole new assignment
    }
  }

  // The group's rebalance protocol: cooperative (incremental assign / unassign) or eager
  // (assign the whole assignment, unassign everything), from the assignor chosen.
  bool cooperative() const {
    return std::strcmp(rd_kafka_rebalance_protocol(handle.get()), "COOPERATIVE") == 0;
  }

  void revoke(rd_kafka_topic_partition_list_t* list, bool lost) {
    if (!lost) {
      // Let the handlers finish what they hold of these partitions, then commit it. Records
      // taken by a fetch but not handed out yet do not count: that fetch drops them.
      std::unique_lock lock(mutex);
      // A cooperative revoke runs within the current generation; an eager one as the group
      // starts rebalancing, when a real broker still takes the old generation's commits (the
      // dev cluster refuses them once: the records are then delivered again by the new owner).
      rebalancing_until = {};
      auto revoked = [&](std::int32_t id) {
        for (int i = 0; i < list->cnt; ++i) {
          if (list->elems[i].partition == id) return true;
        }
        return false;
      };
      auto busy = [&] {
        for (const auto& [id, partition] : partitions) {
          if (!revoked(id)) continue;
          for (const auto& [offset, out] : partition.outstanding) {
            if (out.handed && !out.held) return true;
          }
        }
        return false;
      };
      const auto deadline = Clock::now() + config.revoke_wait;
      settled.wait_until(lock, deadline, [&] { return !busy(); });
      // Commit until the revoked partitions are saved (a refused commit is sent again), within
      // the request timeout.
      auto unsaved = [&] {
        for (const auto& [id, partition] : partitions) {
          const auto& ledger = partition.ledger;
          if (revoked(id) && ledger.commit_offset() >= 0 &&
              (ledger.counts_unsaved() || ledger.offset_unsaved())) {
            return true;
          }
        }
        return false;
      };
      const auto commit_deadline = Clock::now() + config.request_timeout;
      while (unsaved() && !rebalancing() && Clock::now() < commit_deadline) {
        if (!wait_commit(lock, ask_commit(), commit_deadline)) break;
      }
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
    if (cooperative()) {
      ErrorPtr error(rd_kafka_incremental_unassign(handle.get(), list));
    } else {
      (void)rd_kafka_assign(handle.get(), nullptr);  // eager: every partition was revoked
    }
  }

  // Under `mutex`: forgets the buffered records of one partition.
  void drop_buffered(std::int32_t partition) {
    std::erase_if(buffer, [partition](const RecordPtr& r) { return r->partition == partition; });
  }

  // Under `mutex`, on the poller thread: seeks each partition with a hole in what its ledger
  // fetched back to where the hole starts (PartitionLedger::arrived). What is buffered for it
  // was read before the seek and is dropped; what is read after it comes from the seek
  // (librdkafka drops fetched records of a partition's older version when they are polled).
  // The seek waits until librdkafka applied it: an asynchronous one let records fetched before
  // it be polled afterwards, and the ledger took the first of them for the hole seen again and
  // passed over the records in the hole for good.
  void rewind_holes() {
    for (auto& [id, partition] : partitions) {
      if (!partition.ledger.rewind_pending()) continue;
      PartitionListPtr list(rd_kafka_topic_partition_list_new(1));
      rd_kafka_topic_partition_list_add(list.get(), consumer.stream.c_str(), id)->offset =
          partition.ledger.fetched_end();
      ErrorPtr error(rd_kafka_seek_partitions(handle.get(), list.get(), seek_wait_ms));
      drop_buffered(id);
      partition.ledger.rewound();
    }
  }

  // The poller thread: keeps the consumer polled (serving rebalances), buffering what arrives.
  void poll_loop() {
    // One record per call (rd_kafka_consume_queue), never librdkafka 2.0's batch call: in 2.0
    // `rd_kafka_consume_batch_queue` moves the position a resume starts from past records it
    // then drops, so a pause and resume skipped records for good (librdkafka #4208, fixed in
    // 2.1.0; seen here as records never delivered while their offsets were committed past).
    constexpr std::size_t most = 500;
    std::vector<RecordPtr> got;
    got.reserve(most);
    while (!stopping.load()) {
      // Take what is there; only when nothing is, wait (up to 100 ms) for one record.
      while (got.size() < most) {
        rd_kafka_message_t* raw = rd_kafka_consume_queue(queue.get(), got.empty() ? 100 : 0);
        if (raw == nullptr) break;
        got.emplace_back(raw, rd_kafka_message_destroy);
      }
      std::lock_guard lock(mutex);
      const bool arrived_any = !got.empty();
      for (auto& record : got) {
        if (record->err != RD_KAFKA_RESP_ERR_NO_ERROR) continue;
        if (records_to_lose.load(std::memory_order_relaxed) > 0 &&
            records_to_lose.fetch_sub(1, std::memory_order_relaxed) > 0) {
          continue;  // a fault injected by a test
        }
        buffer.push_back(std::move(record));
      }
      got.clear();
      rewind_holes();
      if (arrived_any) arrived.notify_all();
      const std::size_t limit = std::max<std::size_t>(config.buffer_limit, 1);
      const bool full = paused ? buffer.size() > limit / 4 : buffer.size() >= limit;
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
      core->tell(list, true, false);
    } else {
      const bool lost = rd_kafka_assignment_lost(core->handle.get()) != 0;
      core->revoke(list, lost);
      core->tell(list, false, lost);
    }
  }

  // Config::on_rebalance, after the change was carried out.
  void tell(const rd_kafka_topic_partition_list_t* list, bool assigned, bool lost) const {
    if (!config.on_rebalance) return;
    Rebalance change{.durable = consumer.durable,
                     .stream = consumer.stream,
                     .assigned = assigned,
                     .lost = lost,
                     .partitions = {}};
    for (int i = 0; list != nullptr && i < list->cnt; ++i) {
      change.partitions.push_back(list->elems[i].partition);
    }
    config.on_rebalance(change);
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

// Which delivery of which record a fetch took.
struct Taken {
  std::int32_t partition;
  std::uint64_t generation;
  std::int64_t offset;
  std::uint64_t token;
};

class KafkaSubscription final : public Subscription {
 public:
  explicit KafkaSubscription(std::shared_ptr<Core> core) : core_(std::move(core)) {
    committer_ = std::thread([core = core_] {
      name_this_thread("kcommit", core->consumer.durable);
      core->commit_loop();
    });
    poller_ = std::thread([core = core_] {
      name_this_thread("kpoll", core->consumer.durable);
      core->poll_loop();
    });
  }

  ~KafkaSubscription() override {
    core_->stopping = true;
    poller_.join();
    // Revokes every partition (committing what was settled) and leaves the group.
    (void)rd_kafka_consumer_close(core_->handle.get());
    core_->stop_committer();
    committer_.join();
  }

  Result<std::vector<Delivery>> fetch(std::size_t max, milliseconds wait) override {
    std::vector<Delivery> deliveries;
    std::vector<Taken> taken;  // which delivery of which record each one is
    const auto deadline = Clock::now() + wait;
    {
      std::unique_lock lock(core_->mutex);
      for (;;) {
        const auto now = Clock::now();
        redeliver_due(deliveries, taken, max, now);
        take_buffered(deliveries, taken, max, now);
        if (!deliveries.empty() || now >= deadline) break;
        core_->arrived.wait_until(lock, std::min(deadline, next_due(now)));
      }
      if (!deliveries.empty()) hand_out(lock, deliveries, taken);
    }
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
  void redeliver_due(std::vector<Delivery>& deliveries, std::vector<Taken>& taken, std::size_t max,
                     Clock::time_point now) {
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
        out.handed = false;
        out.token = core_->next_token++;
        out.deadline = now + core_->consumer.ack_wait;
        taken.push_back({id, partition.generation, offset, out.token});
        deliveries.emplace_back(
            to_message(*out.record), attempt, to_sequence(id, offset),
            std::make_unique<Handle>(core_, id, partition.generation, offset, out.token),
            PartitionOffset{.partition = id, .offset = offset});
      }
      for (auto [offset, token] : exhausted) core_->settle(id, partition.generation, offset, token);
    }
  }

  // Under the mutex: new records from the poller's buffer.
  void take_buffered(std::vector<Delivery>& deliveries, std::vector<Taken>& taken, std::size_t max,
                     Clock::time_point now) {
    const auto& filter = core_->consumer.filter_subject;
    const int max_deliver = core_->consumer.max_deliver;
    while (!core_->buffer.empty() && room(max, deliveries.size()) > 0) {
      RecordPtr record = std::move(core_->buffer.front());
      core_->buffer.pop_front();
      auto p = core_->partitions.find(record->partition);
      if (p == core_->partitions.end()) continue;  // revoked meanwhile
      Partition& partition = p->second;
      const std::int64_t offset = record->offset;
      switch (partition.ledger.arrived(offset)) {
        case PartitionLedger::Arrival::take:
          break;
        case PartitionLedger::Arrival::rewind:
          core_->drop_buffered(record->partition);  // the poller reads them again
          continue;
        case PartitionLedger::Arrival::drop:
          continue;
      }
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
          Outstanding{token, now + core_->consumer.ack_wait, false, false, record};
      ++core_->in_hands;
      taken.push_back({record->partition, partition.generation, offset, token});
      deliveries.emplace_back(
          std::move(message), attempt, to_sequence(record->partition, offset),
          std::make_unique<Handle>(core_, record->partition, partition.generation, offset, token),
          PartitionOffset{.partition = record->partition, .offset = offset});
    }
  }

  // Under the mutex (through `lock`). Delivery counts are committed before the records are
  // handed out, so a crash from here on counts as an attempt. Should the commit be refused or
  // late, the records go out anyway (the committer keeps sending the counts). Records whose
  // partition was revoked meanwhile are dropped: the new owner delivers them.
  void hand_out(std::unique_lock<std::mutex>& lock, std::vector<Delivery>& deliveries,
                const std::vector<Taken>& taken) {
    (void)core_->wait_commit(lock, core_->ask_commit(),
                             Clock::now() + core_->config.request_timeout);
    std::vector<Delivery> kept;
    kept.reserve(deliveries.size());
    for (std::size_t i = 0; i < deliveries.size(); ++i) {
      auto p = core_->partitions.find(taken[i].partition);
      if (p == core_->partitions.end() || p->second.generation != taken[i].generation) continue;
      auto it = p->second.outstanding.find(taken[i].offset);
      if (it == p->second.outstanding.end() || it->second.token != taken[i].token) continue;
      it->second.handed = true;
      kept.push_back(std::move(deliveries[i]));
    }
    deliveries = std::move(kept);
  }

  std::shared_ptr<Core> core_;
  std::thread committer_;  // started first, stopped last: closing the consumer commits
  std::thread poller_;
};

// A third of the session timeout (three heartbeats may be lost before the session ends), at
// most a second: a member learns that its group rebalances only from a heartbeat's answer, and
// every member must rejoin within the round the coordinator holds open.
std::int64_t heartbeat_interval(milliseconds session_timeout) {
  return std::clamp<std::int64_t>(session_timeout.count() / 3, 1, 1'000);
}

}  // namespace

void lose_polled_records(int count) {
  records_to_lose = count;
}

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
      {"partition.assignment.strategy", config.assignor},
      // Offsets are committed by the subscription itself, with the delivery counts.
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"auto.offset.reset", "earliest"},  // a new durable reads the stream from its start
      {"session.timeout.ms", std::to_string(config.session_timeout.count())},
      {"heartbeat.interval.ms", std::to_string(heartbeat_interval(config.session_timeout))},
      {"fetch.wait.max.ms", std::to_string(config.fetch_wait.count())},
  };
  if (!config.instance_id.empty()) {
    properties["group.instance.id"] = instance_name(config.instance_id, group);
  }
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
