// A durable pull subscription on Kafka: a consumer in the durable's group (Config::assignor),
// with JetStream's delivery semantics rebuilt on top (see fleet/broker/kafka.hpp):
//
// - Every delivery waits in `outstanding` until settled. One not settled within the ack wait
//   (restarted by in_progress) is delivered again; retry_after delivers it again after the delay.
//   Neither blocks the partition: later records keep flowing.
// - Offsets and delivery counts are committed together (PartitionLedger). New deliveries are
//   committed before they are handed out, so a crash counts as an attempt.
// - One committer thread sends every commit, synchronously and one at a time, so commits reach
//   the coordinator in the order they were taken and the committed offset never steps back. A
//   partition counts as saved only once the coordinator accepted its entry; a refused commit is
//   sent again 100 ms later. While the group rebalances (the coordinator answers "rebalance in
//   progress") no commit is sent until the rebalance callback ran: librdkafka rejoins only with
//   no commit outstanding, and a member retrying commits through a rebalance missed the join
//   and was evicted, its partitions then handled by two owners.
// - A record is handed out only if its partition is still assigned once its count is committed;
//   a rebalance waits only for records already handed out.
// - The commit offset never passes a record that was not handed out: a record read past the end
//   of what its partition fetched so far makes the poller seek back there once
//   (PartitionLedger::arrived).
// - On a rebalance, revoked partitions wait (up to revoke_wait) for their deliveries to be
//   settled, commit, and are handed over; later settles of them are ignored. Records still held
//   for a retry are left to the new owner, which delivers them again from the committed offset.
#pragma once

#include <memory>

#include "fleet/broker/kafka.hpp"
#include "fleet/broker/transport.hpp"

namespace fleet::broker::kafka {

Result<std::unique_ptr<Subscription>> subscribe(const Config& config,
                                                const ConsumerConfig& consumer,
                                                const std::string& group);

// Fault injection, for tests only: every subscription of this process loses the next `count`
// records it polls, as librdkafka 2.0's batch poll could around a pause (the client's position
// moves past them, and they are never handed over).
void lose_polled_records(int count);

}  // namespace fleet::broker::kafka
