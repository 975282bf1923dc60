// The Kafka baseline of fleet-bench: plain librdkafka calls, the way a hand-written consumer loop
// would make them. Deliberately independent of fleet's broker code (broker/kafka/).
#pragma once

#include <cstdint>
#include <string>

namespace fleet::bench::raw_kafka {

struct Pipeline {
  std::string brokers;
  std::string input_topic;   // holds exactly `count` records, nobody else consumes it
  std::string output_topic;  // exists already (created during set-up)
  std::string output_subject;
  std::string group;  // a fresh consumer group
  std::uint64_t count = 0;
  int linger_ms = 2;   // producer batching delay (fleet's default)
  int batch = 256;     // records taken from the consumer at once
  std::string run_id;  // prefix of the follow-ups' dedup ids
};

// Consumer group (cooperative-sticky, no auto-commit, offsets stored by hand) reads the input
// topic; each record's msgpack body is decoded and re-encoded into one follow-up produced with
// the idempotent producer; once a batch's follow-ups are all delivered its offsets are stored
// and committed (at-least-once). Returns records per second from the first record received to
// the final synchronous commit of all `count` offsets.
double pipeline(const Pipeline& pipeline);

// Sum over the topic's partitions of the group's committed offsets (records committed past, on a
// topic that starts at offset 0), asked with plain librdkafka. One handle per watcher.
class CommitWatcher {
 public:
  CommitWatcher(const std::string& brokers, const std::string& group, const std::string& topic);
  ~CommitWatcher();
  CommitWatcher(const CommitWatcher&) = delete;
  CommitWatcher& operator=(const CommitWatcher&) = delete;
  std::int64_t committed();

 private:
  struct State;
  State* state_;
};

}  // namespace fleet::bench::raw_kafka
