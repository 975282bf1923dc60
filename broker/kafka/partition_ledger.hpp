// The bookkeeping of one consumer for one assigned partition: how often each record from the
// committed offset on was delivered, which are settled, and what may be committed.
//
// Kafka counts no deliveries, so the counts travel with the committed offset as commit metadata
// ("start-end:count,..."): a consumer that takes the partition over after a crash or rebalance
// reads them and continues counting, and a record that keeps killing its worker reaches max
// attempts as it does on JetStream. The commit offset only ever moves to the lowest record not
// yet settled, so nothing unsettled is ever committed past (at-least-once). No locking: the
// subscription owning the ledger serialises access.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace fleet::broker::kafka {

class PartitionLedger {
 public:
  // `committed`: the group's committed offset, or < 0 when it has none (then the first fetched
  // record sets it). `metadata`: the counts committed with it ("" = none).
  PartitionLedger(std::int64_t committed, std::string_view metadata);

  // A record seen for the first time by this owner; returns its attempt (1 = first delivery),
  // or 0 for a record this owner already settled (fetched again: skip it).
  std::uint32_t fetched(std::int64_t offset);
  // The same record delivered again (retry or expired ack wait); returns its attempt.
  std::uint32_t redelivered(std::int64_t offset);
  // Handled, dead-lettered, terminated or filtered out: may be committed past.
  void settle(std::int64_t offset);

  // Where this owner's fetching has got to: the offset after the highest record fetched (the
  // committed offset before the first); < 0 when unknown.
  std::int64_t fetched_end() const { return end_; }

  // What to do with a record read from the broker, asked before fetched(). The commit offset
  // must never pass a record this owner was not handed (librdkafka 2.0 could skip some around
  // a pause), so a record past fetched_end() leaves a hole:
  //   take    in sequence, or a repeat (fetched() sorts those out);
  //   rewind  past a hole seen for the first time: drop what is buffered for the partition and
  //           read it again from fetched_end(), then call rewound();
  //   drop    read before that rewind took effect: it comes again.
  // A hole seen again right after its rewind is not in the log (retention, compaction, a
  // transaction marker): it is passed over (the commit offset may pass it) and the record
  // taken.
  enum class Arrival { take, rewind, drop };
  Arrival arrived(std::int64_t offset);
  bool rewind_pending() const { return rewind_pending_; }
  void rewound() { rewind_pending_ = false; }

  // The offset to commit (the next record a new owner should read); < 0 when unknown.
  std::int64_t commit_offset() const;
  // For a ledger made from a group's commit, read by another process: the offset after the
  // last record the commit says was delivered (unsettled records are counted in the metadata;
  // ones settled past an unsettled one are not, so this may fall short, never overshoot).
  std::int64_t delivered_end() const;
  // Delivery counts of the records at or after commit_offset(), as commit metadata (at most
  // `max_bytes`; runs are merged, keeping the higher count, to fit).
  std::string metadata(std::size_t max_bytes = 3'000) const;

  // True when deliveries were counted that the last successful commit does not hold: commit
  // before handing the records out, or a crash now would not count as an attempt.
  bool counts_unsaved() const { return counts_version_ != saved_counts_version_; }
  // True when commit_offset() differs from the last successful commit.
  bool offset_unsaved() const { return commit_offset() != saved_offset_; }

  // What one commit sends. The ledger counts it saved only once the coordinator accepted it
  // (saved(commit)); counts taken after the snapshot stay unsaved.
  struct Commit {
    std::int64_t offset;
    std::string metadata;
    std::uint64_t counts_version;
  };
  Commit to_commit() const { return {commit_offset(), metadata(), counts_version_}; }
  void saved(const Commit& commit) {
    saved_offset_ = commit.offset;
    saved_counts_version_ = std::max(saved_counts_version_, commit.counts_version);
  }

 private:
  struct Run {
    std::int64_t first, last;
    std::uint32_t count;
  };
  struct Entry {
    std::uint32_t deliveries = 0;
    bool settled = false;
  };
  std::uint32_t prior_count(std::int64_t offset) const;

  std::int64_t base_;                      // everything below is settled (or not ours)
  std::int64_t end_;                       // after the highest fetched offset
  std::int64_t rewind_from_ = -1;          // the last hole's start that was read again
  bool rewind_pending_ = false;            // a rewind asked for and not yet done
  std::map<std::int64_t, Entry> entries_;  // fetched by this owner, at or above base_
  std::vector<Run> prior_;                 // counts the previous owner committed
  std::uint64_t counts_version_ = 0;       // bumped by every delivery counted
  std::uint64_t saved_counts_version_ = 0;
  std::int64_t saved_offset_;
};

}  // namespace fleet::broker::kafka
