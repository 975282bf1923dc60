// Which streams exist, which subjects each takes, and which consumer group each durable uses,
// kept in the compacted topic "fleet.registry" so every process sees the same (a producer that
// never created a stream still finds the topic for a subject).
//
// Records: key "stream/<name>" -> {"subjects": [...]}; key "consumer/<stream>/<durable>" ->
// {"generation": g, "removed": bool}. The group of generation 0 is "fleet.<stream>.<durable>";
// removing a durable bumps the generation, so the next one starts from the beginning again.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "fleet/broker/config.hpp"
#include "kafka/producer.hpp"

namespace fleet::broker::kafka {

inline constexpr const char* kRegistryTopic = "fleet.registry";

struct Durable {
  int generation = 0;
  bool removed = false;
};

class Registry {
 public:
  Registry(Config config, Producer& producer) : config_(std::move(config)), producer_(producer) {}

  Status put_stream(const StreamConfig& stream);
  // A tombstone for the stream: it takes no subjects any more. Errc::not_found if unknown.
  Status remove_stream(const std::string& stream);
  // The stream whose subjects match `subject` (reloading once when none does).
  Result<std::string> stream_for(const std::string& subject);
  Result<std::vector<StreamConfig>> streams();

  // The consumer group for a durable, recording it (generation after a removal) when needed.
  Result<std::string> ensure_group(const std::string& stream, const std::string& durable);
  Status remove(const std::string& stream, const std::string& durable);
  // The group of a durable that exists, reloading once when this process does not know it
  // (another process may have made it since); "" when there is none.
  Result<std::string> group_of(const std::string& stream, const std::string& durable);
  // Groups of the durables of `stream` that are not removed: durable -> group. As of the last
  // reload (streams() reloads).
  Result<std::map<std::string, std::string>> groups(const std::string& stream);

 private:
  Status reload();
  static std::string group_name(const std::string& stream, const std::string& durable,
                                int generation);

  Config config_;
  Producer& producer_;
  std::mutex mutex_;
  std::map<std::string, StreamConfig> streams_;
  std::map<std::pair<std::string, std::string>, Durable> durables_;
};

}  // namespace fleet::broker::kafka
