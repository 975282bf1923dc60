// Kafka transport settings (librdkafka underneath). How JetStream ideas map onto Kafka:
//
//   stream            a topic of the same name (created with `partitions` partitions)
//   subject           the record header Fleet-Subject; a consumer's filter is applied by the
//                     consumer, which skips (and commits past) records that do not match
//   durable consumer  a consumer group "fleet.<stream>.<durable>" (assignor: Config::assignor)
//   sequence          (partition << 40) | (offset + 1), so one-partition topics count 1, 2, 3...
//   dedup id          header Fleet-Msg-Id; the idempotent producer removes its own retries, the
//                     inbox removes the rest (Kafka has no broker-side dedup window)
//   ordering          the record key (Message::key, else the Fleet-Ordering-Key header), so one
//                     key stays in one partition, in order
//   ack / terminate   the offset may be committed past the record (commits only ever move to
//                     the lowest offset not yet settled: at-least-once)
//   retry_after       the record is held by the consumer and delivered again after the delay;
//                     other records and partitions keep flowing
//   attempt count     kept with the committed offset (commit metadata), so a crash or rebalance
//                     costs each record the process held one attempt, as on JetStream
//   key-value         an SQL state store (see state_store.hpp): Kafka has none
//
// Which streams exist and which subjects they take is kept in the compacted topic
// "fleet.registry", so any process can publish to a subject without having created the stream.
//
// This header is the Kafka transport's settings only (plain data: no librdkafka here), filled by
// the flags (fleet/flags/transport.hpp); kafka::connect and MockCluster are in
// fleet/broker/kafka.hpp (library fleet::broker_kafka).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace fleet::broker::kafka {

// A subscription's partitions changed hands (Config::on_rebalance).
struct Rebalance {
  // The subscription's durable: its consumer group is "fleet.<stream>.<durable>".
  std::string durable;
  std::string stream;
  bool assigned = false;  // true: these partitions are now this process's; false: revoked
  bool lost = false;      // revoked without a clean hand-over (the session ended)
  // May be empty: in a group with more members than partitions some get none.
  std::vector<std::int32_t> partitions;
};
using RebalanceListener = std::function<void(const Rebalance&)>;

struct Config {
  std::string brokers = "127.0.0.1:9092";  // bootstrap.servers, comma-separated
  std::string name = "fleet";              // client.id shown by the brokers
  // Partitions of the topics this transport creates: the most processes of one role that can
  // share the work. Topics the broker auto-creates get the broker's default instead.
  int partitions = 4;
  int replication_factor = 1;  // 3 on a production cluster
  // Where key-value buckets (inbox, saga state) live: "sqlite:PATH" or "postgresql://...".
  std::string state_url = "sqlite:fleet-state.db";
  std::chrono::milliseconds request_timeout{10'000};  // metadata, commits, admin calls
  // Records awaiting delivery reports; publish_async blocks beyond it.
  int max_in_flight = 100'000;
  std::chrono::milliseconds linger{2};  // producer batching delay
  // Longest a rebalance waits for in-flight records of revoked partitions to be settled before
  // handing the partitions over (the new owner then redelivers them).
  std::chrono::milliseconds revoke_wait{5'000};
  // A consumer silent this long leaves its group: a killed process's partitions idle this long
  // before a rebalance hands them on. Heartbeats go every third of it, at most every second (a
  // member learns of a rebalance from its heartbeat's answer). Real brokers refuse less than
  // group.min.session.timeout.ms (6 s by default). The dev cluster (librdkafka 2.0's mock) also
  // holds every rebalance for the session timeout less a second while it waits for members, so
  // scripts/demo uses 3 s there, its floor: the mock holds a group's first round for a fixed 3 s
  // and evicts a member waiting in it whose session is shorter (docs/operations.md, "Kafka
  // rebalances").
  std::chrono::milliseconds session_timeout{10'000};
  // fetch.wait.max.ms: the longest a consumer's fetch waits at the broker for records. A real
  // broker answers as soon as records arrive, so this only bounds idle polling. The dev cluster
  // (librdkafka 2.0's mock) answers a fetch that found nothing only after the whole wait, even
  // when records arrive meanwhile, so every hop to an idle partition cost up to this much:
  // scripts/demo uses 10 ms there.
  std::chrono::milliseconds fetch_wait{500};
  // Records a subscription holds polled from librdkafka and not yet fetched by its worker. At
  // the limit it pauses its partitions (they stay assigned and the group keeps its heartbeats);
  // at a quarter of it they are resumed. librdkafka drops what it prefetched on a pause and
  // fetches it again on the resume, so a low limit costs throughput on a backlog, not records.
  std::size_t buffer_limit = 10'000;
  // partition.assignment.strategy: "range" (default) or "roundrobin" (eager: a rebalance stops
  // the whole group for one round), or "cooperative-sticky" (incremental: members keep their
  // partitions, but a partition that moves needs a second round). Eager is the default because
  // librdkafka 2.0.2's cooperative-sticky assignor aborts a consumer closed before its first
  // assignment (`rd_kafka_sticky_assignor_state_destroy: Assertion 'assignor_state' failed`,
  // librdkafka issue #4312, fixed in 2.3.0) and has further sticky fixes only from 2.2.0 on.
  std::string assignor = "range";
  // Static group membership (librdkafka's group.instance.id): a name for this process's slot
  // that a replacement process reuses, e.g. "orders-1" for the first orders worker. When a
  // process dies and its replacement joins under the same name within the session timeout,
  // the coordinator hands it the same partitions at once, without a rebalance, instead of them
  // idling until the dead process's session expires. A clean stop then does not leave the group
  // either (the slot is expected back), so scaling down waits for the session timeout. Two live
  // processes must never share a name (the older one is fenced). A process subscribing to one
  // durable twice adds "#2", "#3"... "{hostname}" in the name is replaced by this machine's
  // host name: under docker-compose that is the container's id, which a restart of the
  // container keeps and no other replica shares, so "{hostname}" names every replica's slot.
  // "" (the default) = dynamic membership. Needs Kafka 2.3 or later; librdkafka 2.0's mock
  // cluster (the dev cluster) accepts and ignores it.
  std::string instance_id;
  // Further librdkafka properties, e.g. {"security.protocol", "SASL_SSL"}.
  std::map<std::string, std::string> properties;
  // Told whenever a subscription's partitions are assigned or revoked (fleet-worker logs it:
  // "kafka partitions assigned" / "kafka partitions revoked"). Runs on the subscription's
  // poller thread inside librdkafka's rebalance callback: keep it short. Empty: not told.
  RebalanceListener on_rebalance;
};

}  // namespace fleet::broker::kafka
