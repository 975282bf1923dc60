// The Kafka subscription's per-partition bookkeeping: what may be committed, and how delivery
// counts survive a change of owner through the commit metadata.
#include <doctest/doctest.h>

#include "kafka/partition_ledger.hpp"

using fleet::broker::kafka::PartitionLedger;

TEST_CASE("ledger: the commit offset stops at the lowest unsettled record") {
  PartitionLedger ledger(10, "");
  for (int offset = 10; offset < 15; ++offset) CHECK(ledger.fetched(offset) == 1);
  CHECK(ledger.commit_offset() == 10);
  ledger.settle(11);
  ledger.settle(12);
  CHECK(ledger.commit_offset() == 10);  // 10 is still in a handler's hands
  ledger.settle(10);
  CHECK(ledger.commit_offset() == 13);
  ledger.settle(14);
  ledger.settle(13);
  CHECK(ledger.commit_offset() == 15);
}

TEST_CASE("ledger: a settled record fetched again is not delivered again") {
  PartitionLedger ledger(0, "");
  ledger.fetched(0);
  ledger.fetched(1);
  ledger.settle(1);
  CHECK(ledger.fetched(1) == 0);  // settled, still above the commit offset
  ledger.settle(0);
  CHECK(ledger.fetched(0) == 0);  // below the commit offset
  CHECK(ledger.commit_offset() == 2);
}

TEST_CASE("ledger: a group without a committed offset starts at the first fetched record") {
  PartitionLedger ledger(-1, "");
  CHECK(ledger.commit_offset() < 0);
  ledger.fetched(42);
  CHECK(ledger.commit_offset() == 42);
  ledger.settle(42);
  CHECK(ledger.commit_offset() == 43);
}

TEST_CASE("ledger: a new owner continues the delivery counts of records the last one held") {
  PartitionLedger first(0, "");
  for (int offset = 0; offset < 4; ++offset) first.fetched(offset);
  first.settle(0);
  first.redelivered(2);  // retried once: delivered twice
  const std::string metadata = first.metadata();
  CHECK(metadata == "1-1:1,2-2:2,3-3:1");

  // The process dies; the next owner starts at the committed offset with the metadata.
  PartitionLedger second(first.commit_offset(), metadata);
  CHECK(second.fetched(1) == 2);
  CHECK(second.fetched(2) == 3);
  CHECK(second.fetched(3) == 2);
  CHECK(second.fetched(4) == 1);  // never delivered before
}

TEST_CASE("ledger: a record that kills every owner counts up to max attempts") {
  std::string metadata;
  std::int64_t committed = 7;
  std::uint32_t attempt = 0;
  for (int owner = 0; owner < 5; ++owner) {
    PartitionLedger ledger(committed, metadata);
    attempt = ledger.fetched(7);  // then the process crashes before settling it
    metadata = ledger.metadata();
    committed = ledger.commit_offset();
  }
  CHECK(attempt == 5);
  CHECK(committed == 7);
}

TEST_CASE("ledger: counts below the commit offset are dropped from the metadata") {
  PartitionLedger ledger(0, "0-9:3");
  CHECK(ledger.fetched(0) == 4);
  ledger.settle(0);
  CHECK(ledger.metadata() == "1-9:3");
  CHECK(ledger.counts_unsaved());
  ledger.saved(ledger.to_commit());
  CHECK_FALSE(ledger.counts_unsaved());
  CHECK_FALSE(ledger.offset_unsaved());
}

TEST_CASE("ledger: nothing counts as saved until the coordinator accepted the commit") {
  PartitionLedger ledger(0, "");
  ledger.fetched(0);
  ledger.fetched(1);
  ledger.settle(0);
  const auto commit = ledger.to_commit();
  CHECK(commit.offset == 1);
  CHECK(commit.metadata == "1-1:1");
  // Sent, no answer yet (or a failed one): still unsaved, so the next commit carries it again.
  CHECK(ledger.counts_unsaved());
  CHECK(ledger.offset_unsaved());
  ledger.saved(commit);
  CHECK_FALSE(ledger.counts_unsaved());
  CHECK_FALSE(ledger.offset_unsaved());
}

TEST_CASE("ledger: counts taken while a commit was on its way stay unsaved after it succeeds") {
  PartitionLedger ledger(0, "");
  ledger.fetched(0);
  const auto commit = ledger.to_commit();
  CHECK(ledger.redelivered(0) == 2);  // counted after the snapshot was sent
  ledger.saved(commit);
  CHECK(ledger.counts_unsaved());
  CHECK(ledger.to_commit().metadata == "0-0:2");
  ledger.saved(ledger.to_commit());
  CHECK_FALSE(ledger.counts_unsaved());
}

TEST_CASE("ledger: metadata that is not ours is ignored") {
  PartitionLedger ledger(5, "written by some other client");
  CHECK(ledger.fetched(5) == 1);
}

TEST_CASE("ledger: oversized metadata is merged, keeping the higher count") {
  PartitionLedger ledger(0, "");
  for (int offset = 0; offset < 400; ++offset) {
    ledger.fetched(offset * 2);
    if (offset % 2 == 0) ledger.redelivered(offset * 2);
  }
  const std::string metadata = ledger.metadata(200);
  CHECK(metadata.size() <= 200);
  PartitionLedger next(0, metadata);
  CHECK(next.fetched(0) >= 3);  // counts may only be overcounted, never lost
  CHECK(next.fetched(2) >= 2);
}

TEST_CASE("ledger: fetching ends after the highest record fetched, from the committed offset on") {
  PartitionLedger ledger(10, "");
  CHECK(ledger.fetched_end() == 10);
  ledger.fetched(10);
  ledger.fetched(11);
  CHECK(ledger.fetched_end() == 12);
  ledger.fetched(10);  // fetched again (a resume): the end stays
  CHECK(ledger.fetched_end() == 12);
  PartitionLedger fresh(-1, "");
  CHECK(fresh.fetched_end() < 0);
  fresh.fetched(7);
  CHECK(fresh.fetched_end() == 8);
}

TEST_CASE("ledger: a record past a hole is read again from the hole, before anything is taken") {
  using Arrival = PartitionLedger::Arrival;
  PartitionLedger ledger(0, "");
  CHECK(ledger.arrived(0) == Arrival::take);
  ledger.fetched(0);
  CHECK(ledger.arrived(3) == Arrival::rewind);  // 1 and 2 were never handed over
  CHECK(ledger.rewind_pending());
  CHECK(ledger.arrived(4) == Arrival::drop);  // read before the rewind took effect
  CHECK(ledger.arrived(0) == Arrival::take);  // a repeat is left to fetched()
  ledger.rewound();
  CHECK(ledger.arrived(1) == Arrival::take);  // the partition read again from the hole
  ledger.fetched(1);
  CHECK(ledger.fetched_end() == 2);
  ledger.settle(0);
  ledger.settle(1);
  CHECK(ledger.commit_offset() == 2);  // never past a record that was not handed over
}

TEST_CASE("ledger: a hole seen again after its rewind is passed over, and the commit with it") {
  using Arrival = PartitionLedger::Arrival;
  PartitionLedger ledger(0, "");
  ledger.fetched(0);
  ledger.fetched(1);
  ledger.settle(0);
  ledger.settle(1);
  CHECK(ledger.arrived(5) == Arrival::rewind);
  ledger.rewound();
  CHECK(ledger.arrived(5) == Arrival::take);  // 2..4 are not in the log (a marker, compaction)
  CHECK(ledger.fetched_end() == 5);
  CHECK(ledger.commit_offset() == 5);
  CHECK(ledger.fetched(5) == 1);
  CHECK(ledger.commit_offset() == 5);  // 5 is in a handler's hands
  ledger.settle(5);
  CHECK(ledger.commit_offset() == 6);
  CHECK(ledger.arrived(9) == Arrival::rewind);  // a new hole is read again too
}

TEST_CASE("ledger: a hole behind an unsettled record keeps the commit offset on that record") {
  using Arrival = PartitionLedger::Arrival;
  PartitionLedger ledger(0, "");
  ledger.fetched(0);
  CHECK(ledger.arrived(3) == Arrival::rewind);
  ledger.rewound();
  CHECK(ledger.arrived(3) == Arrival::take);
  CHECK(ledger.fetched(3) == 1);
  ledger.settle(3);
  CHECK(ledger.commit_offset() == 0);  // 0 is still in a handler's hands
  ledger.settle(0);
  CHECK(ledger.commit_offset() == 4);
}

TEST_CASE("ledger: an owner without a committed offset takes its first record as the start") {
  PartitionLedger ledger(-1, "");
  CHECK(ledger.arrived(42) == PartitionLedger::Arrival::take);
  ledger.fetched(42);
  CHECK(ledger.arrived(43) == PartitionLedger::Arrival::take);
}
