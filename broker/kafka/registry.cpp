#include "kafka/registry.hpp"

#include <nlohmann/json.hpp>

#include "fleet/broker/subject.hpp"
#include "kafka/topic_reader.hpp"

namespace fleet::broker::kafka {
namespace {

std::string stream_key(const std::string& stream) {
  return "stream/" + stream;
}
std::string durable_key(const std::string& stream, const std::string& durable) {
  return "consumer/" + stream + "/" + durable;
}

}  // namespace

std::string Registry::group_name(const std::string& stream, const std::string& durable,
                                 int generation) {
  std::string group = "fleet." + stream + "." + durable;
  if (generation > 0) group += "." + std::to_string(generation);
  return group;
}

Status Registry::reload() {
  auto reader = TopicReader::open(config_);
  if (!reader) return fail(reader.error());
  std::map<std::string, StreamConfig> streams;
  std::map<std::pair<std::string, std::string>, Durable> durables;
  auto read = reader->read(kRegistryTopic, {}, [&](const rd_kafka_message_t& record) {
    const std::string key(static_cast<const char*>(record.key), record.key_len);
    if (record.payload == nullptr) {  // tombstone
      if (key.starts_with("stream/")) streams.erase(key.substr(7));
      return true;
    }
    auto json = nlohmann::json::parse(
        std::string_view(static_cast<const char*>(record.payload), record.len), nullptr, false);
    if (json.is_discarded()) return true;  // not ours; ignore
    if (key.starts_with("stream/")) {
      StreamConfig stream;
      stream.name = key.substr(7);
      stream.subjects = json.value("subjects", std::vector<std::string>{});
      streams[stream.name] = stream;
    } else if (key.starts_with("consumer/")) {
      const auto rest = key.substr(9);
      const auto slash = rest.find('/');
      if (slash == std::string::npos) return true;
      durables[{rest.substr(0, slash), rest.substr(slash + 1)}] =
          Durable{json.value("generation", 0), json.value("removed", false)};
    }
    return true;
  });
  if (!read && read.error().code != Errc::not_found) return read;
  std::lock_guard lock(mutex_);
  streams_ = std::move(streams);
  durables_ = std::move(durables);
  return {};
}

Status Registry::put_stream(const StreamConfig& stream) {
  const std::string value = nlohmann::json{{"subjects", stream.subjects}}.dump();
  auto put = producer_.publish_raw(kRegistryTopic, stream_key(stream.name), &value,
                                   config_.request_timeout);
  if (!put) return put;
  std::lock_guard lock(mutex_);
  streams_[stream.name] = stream;
  return {};
}

Result<std::string> Registry::stream_for(const std::string& subject) {
  for (int pass = 0; pass < 2; ++pass) {
    {
      std::lock_guard lock(mutex_);
      for (const auto& [name, stream] : streams_) {
        for (const auto& pattern : stream.subjects) {
          if (subject_matches(pattern, subject)) return name;
        }
      }
    }
    if (pass == 0) {
      if (auto loaded = reload(); !loaded) return fail(loaded.error());
    }
  }
  return fail(Errc::not_found, "no stream takes subject " + subject);
}

Result<std::vector<StreamConfig>> Registry::streams() {
  if (auto loaded = reload(); !loaded) return fail(loaded.error());
  std::lock_guard lock(mutex_);
  std::vector<StreamConfig> list;
  for (const auto& [name, stream] : streams_) list.push_back(stream);
  return list;
}

Status Registry::remove_stream(const std::string& stream) {
  if (auto loaded = reload(); !loaded) return loaded;
  {
    std::lock_guard lock(mutex_);
    if (!streams_.contains(stream)) return fail(Errc::not_found, "no stream " + stream);
  }
  auto put =
      producer_.publish_raw(kRegistryTopic, stream_key(stream), nullptr, config_.request_timeout);
  if (!put) return put;
  std::lock_guard lock(mutex_);
  streams_.erase(stream);
  return {};
}

Result<std::string> Registry::group_of(const std::string& stream, const std::string& durable) {
  auto known = [&]() -> std::optional<std::string> {
    std::lock_guard lock(mutex_);
    auto it = durables_.find({stream, durable});
    if (it == durables_.end() || it->second.removed) return std::nullopt;
    return group_name(stream, durable, it->second.generation);
  };
  if (auto group = known()) return *group;
  if (auto loaded = reload(); !loaded) return fail(loaded.error());
  return known().value_or("");
}

Result<std::string> Registry::ensure_group(const std::string& stream, const std::string& durable) {
  if (auto loaded = reload(); !loaded) return fail(loaded.error());
  Durable current;
  {
    std::lock_guard lock(mutex_);
    auto it = durables_.find({stream, durable});
    if (it != durables_.end() && !it->second.removed) {
      return group_name(stream, durable, it->second.generation);
    }
    if (it != durables_.end()) current.generation = it->second.generation + 1;
  }
  const std::string value = nlohmann::json{{"generation", current.generation}}.dump();
  auto put = producer_.publish_raw(kRegistryTopic, durable_key(stream, durable), &value,
                                   config_.request_timeout);
  if (!put) return fail(put.error());
  std::lock_guard lock(mutex_);
  durables_[{stream, durable}] = current;
  return group_name(stream, durable, current.generation);
}

Status Registry::remove(const std::string& stream, const std::string& durable) {
  if (auto loaded = reload(); !loaded) return loaded;
  Durable gone{.generation = 0, .removed = true};
  {
    std::lock_guard lock(mutex_);
    auto it = durables_.find({stream, durable});
    if (it == durables_.end() || it->second.removed) return {};
    gone.generation = it->second.generation;
  }
  const std::string value =
      nlohmann::json{{"generation", gone.generation}, {"removed", true}}.dump();
  auto put = producer_.publish_raw(kRegistryTopic, durable_key(stream, durable), &value,
                                   config_.request_timeout);
  if (!put) return put;
  std::lock_guard lock(mutex_);
  durables_[{stream, durable}] = gone;
  return {};
}

Result<std::map<std::string, std::string>> Registry::groups(const std::string& stream) {
  std::lock_guard lock(mutex_);
  std::map<std::string, std::string> found;
  for (const auto& [key, durable] : durables_) {
    if (key.first == stream && !durable.removed) {
      found[key.second] = group_name(stream, key.second, durable.generation);
    }
  }
  return found;
}

}  // namespace fleet::broker::kafka
