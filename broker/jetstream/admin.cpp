#include "admin.hpp"

#include <algorithm>

#include <chrono>
#include <cstdint>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "connection.hpp"
#include "status.hpp"

namespace fleet::broker::jetstream {
namespace {

// Stream and consumer durations (AckWait, MaxAge, Duplicates, BackOff) are Go durations:
// NANOseconds. Request timeouts, Fetch and NakWithDelay take MILLIseconds.
std::int64_t nanos(std::chrono::milliseconds duration) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(duration).count();
}

}  // namespace

Status ensure_stream(jsCtx* js, const StreamConfig& config) {
  if (config.name.empty()) return fleet::fail(Errc::invalid_argument, "stream name is empty");
  if (config.subjects.empty()) {
    return fleet::fail(Errc::invalid_argument, "stream " + config.name + " has no subjects");
  }
  std::vector<const char*> subjects;
  for (const auto& subject : config.subjects) subjects.push_back(subject.c_str());

  jsStreamConfig cfg;
  jsStreamConfig_Init(&cfg);
  cfg.Name = config.name.c_str();
  cfg.Subjects = subjects.data();
  cfg.SubjectsLen = static_cast<int>(subjects.size());
  cfg.Storage = config.memory_storage ? js_MemoryStorage : js_FileStorage;
  cfg.Replicas = config.replicas;
  cfg.Duplicates = nanos(config.duplicate_window);
  cfg.MaxAge = nanos(config.max_age);  // 0 = unlimited

  // The server answers an add of an identical existing stream with success, and of a different
  // one with "stream name already in use". Two processes adding one stream at once (workers
  // starting together, each ensuring the shared DLQ) can be answered "subjects overlap with an
  // existing stream": the other add's stream, not yet known by its name. Once a stream of this
  // name exists, the add is made again and takes one of the paths above.
  for (int attempt = 1;; ++attempt) {
    jsStreamInfo* raw = nullptr;
    jsErrCode code{};
    natsStatus s = js_AddStream(&raw, js, &cfg, nullptr, &code);
    StreamInfoPtr info(raw);
    if (s == NATS_OK) return {};
    if (code == JSStreamNameExistErr) {
      raw = nullptr;
      code = {};
      s = js_UpdateStream(&raw, js, &cfg, nullptr, &code);
      info.reset(raw);
      if (s != NATS_OK) return fail(s, code, "update stream " + config.name);
      return {};
    }
    if (code == JSStreamSubjectOverlapErr && attempt < 3) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      jsStreamInfo* existing = nullptr;
      const bool named =
          js_GetStreamInfo(&existing, js, config.name.c_str(), nullptr, nullptr) == NATS_OK;
      StreamInfoPtr existing_info(existing);
      if (named) continue;
    }
    return fail(s, code, "create stream " + config.name);
  }
}

Status remove_consumer(jsCtx* js, const std::string& stream, const std::string& durable) {
  jsErrCode code{};
  const natsStatus s = js_DeleteConsumer(js, stream.c_str(), durable.c_str(), nullptr, &code);
  if (s == NATS_NOT_FOUND || code == JSConsumerNotFoundErr) return {};
  if (s != NATS_OK) return fail(s, code, "remove consumer " + stream + "/" + durable);
  return {};
}

Status remove_stream(jsCtx* js, const std::string& name) {
  jsErrCode code{};
  const natsStatus s = js_DeleteStream(js, name.c_str(), nullptr, &code);
  if (s == NATS_NOT_FOUND || code == JSStreamNotFoundErr) {
    return fleet::fail(Errc::not_found, "no stream " + name);
  }
  if (s != NATS_OK) return fail(s, code, "remove stream " + name);
  return {};
}

Status ensure_consumer(jsCtx* js, const ConsumerConfig& config) {
  if (config.stream.empty() || config.durable.empty()) {
    return fleet::fail(Errc::invalid_argument, "consumer needs a stream and a durable name");
  }
  jsConsumerConfig cfg;
  jsConsumerConfig_Init(&cfg);
  cfg.Durable = config.durable.c_str();
  cfg.AckPolicy = config.acks ? js_AckExplicit : js_AckNone;
  cfg.DeliverPolicy = js_DeliverAll;
  cfg.FilterSubject = config.filter_subject.empty() ? nullptr : config.filter_subject.c_str();
  cfg.AckWait = nanos(config.ack_wait);
  cfg.MaxDeliver = config.max_deliver;
  cfg.MaxAckPending = config.max_ack_pending;

  const std::string name = config.stream + "/" + config.durable;
  jsConsumerInfo* raw = nullptr;
  jsErrCode code{};
  natsStatus s = js_AddConsumer(&raw, js, config.stream.c_str(), &cfg, nullptr, &code);
  ConsumerInfoPtr info(raw);
  if (s != NATS_OK && (code == JSConsumerNameExistErr || code == JSConsumerExistingActiveErr)) {
    raw = nullptr;
    code = {};
    s = js_UpdateConsumer(&raw, js, config.stream.c_str(), &cfg, nullptr, &code);
    info.reset(raw);
    if (s != NATS_OK) return fail(s, code, "update consumer " + name);
    return {};
  }
  if (s != NATS_OK) return fail(s, code, "create consumer " + name);
  return {};
}

namespace {

Result<std::vector<ConsumerInfo>> list_consumers(jsCtx* js, const char* stream) {
  jsConsumerInfoList* raw = nullptr;
  jsErrCode code{};
  const natsStatus s = js_Consumers(&raw, js, stream, nullptr, &code);
  ConsumerInfoListPtr list(raw);
  std::vector<ConsumerInfo> consumers;
  if (s == NATS_NOT_FOUND && code == 0) return consumers;  // the stream has none
  if (s != NATS_OK) return fail(s, code, std::string("list consumers of ") + stream);
  for (int i = 0; i < list->Count; ++i) {
    const jsConsumerInfo& ci = *list->List[i];
    consumers.push_back(ConsumerInfo{
        .name = ci.Name != nullptr ? ci.Name : "",
        .pending = ci.NumPending,
        .ack_pending = static_cast<std::uint64_t>(ci.NumAckPending),
        .redelivered = static_cast<std::uint64_t>(ci.NumRedelivered),
        .waiting = static_cast<std::uint64_t>(std::max<std::int64_t>(0, ci.NumWaiting)),
    });
  }
  return consumers;
}

}  // namespace

Result<DeliveryProgress> delivery_progress(jsCtx* js, const std::string& stream,
                                           const std::string& durable) {
  const std::string name = stream + "/" + durable;
  jsConsumerInfo* raw = nullptr;
  jsErrCode code{};
  natsStatus s = js_GetConsumerInfo(&raw, js, stream.c_str(), durable.c_str(), nullptr, &code);
  ConsumerInfoPtr info(raw);
  if (code == JSConsumerNotFoundErr) return DeliveryProgress{};  // no process ever took any
  if (s != NATS_OK) return fail(s, code, "delivery progress of " + name);
  if (info->NumPending == 0) return DeliveryProgress{.caught_up = true};
  // The message after the last one delivered is of any subject, so published no later than the
  // oldest one of the filter still waiting.
  const std::uint64_t next = info->Delivered.Stream + 1;
  natsMsg* raw_msg = nullptr;
  code = {};
  s = js_GetMsg(&raw_msg, js, stream.c_str(), next, nullptr, &code);
  MsgPtr msg(raw_msg);
  if (s != NATS_OK) {
    // Removed (max age, an operator): which message waits longest is not known.
    return fail(s, code,
                "delivery progress of " + name + " (message " + std::to_string(next) + ")");
  }
  return DeliveryProgress{.waiting_since_ms = natsMsg_GetTime(msg.get()) / 1'000'000};
}

Result<std::vector<StreamInfo>> list_streams(jsCtx* js) {
  jsStreamInfoList* raw = nullptr;
  jsErrCode code{};
  const natsStatus s = js_Streams(&raw, js, nullptr, &code);
  StreamInfoListPtr list(raw);
  std::vector<StreamInfo> streams;
  if (s == NATS_NOT_FOUND && code == 0) return streams;  // no streams at all
  if (s != NATS_OK) return fail(s, code, "list streams");
  for (int i = 0; i < list->Count; ++i) {
    const jsStreamInfo& si = *list->List[i];
    StreamInfo info;
    if (si.Config != nullptr) {
      if (si.Config->Name != nullptr) info.name = si.Config->Name;
      for (int j = 0; j < si.Config->SubjectsLen; ++j) {
        info.subjects.emplace_back(si.Config->Subjects[j]);
      }
    }
    if (si.Cluster != nullptr && si.Cluster->Leader != nullptr) info.leader = si.Cluster->Leader;
    info.messages = si.State.Msgs;
    info.bytes = si.State.Bytes;
    info.first_sequence = si.State.FirstSeq;
    info.last_sequence = si.State.LastSeq;
    if (si.State.Msgs > 0) {
      info.first_time_ms = si.State.FirstTime / 1'000'000;
      info.last_time_ms = si.State.LastTime / 1'000'000;
    }
    auto consumers = list_consumers(js, info.name.c_str());
    if (!consumers) return std::unexpected(consumers.error());
    info.consumers = std::move(*consumers);
    streams.push_back(std::move(info));
  }
  return streams;
}

Result<std::optional<std::string>> stream_for_subject(natsConnection* nc,
                                                      const std::string& subject,
                                                      std::chrono::milliseconds timeout) {
  const std::string what = "stream for subject " + subject;
  const std::string request = nlohmann::json{{"subject", subject}}.dump();
  natsMsg* raw = nullptr;
  const natsStatus s = natsConnection_Request(&raw, nc, "$JS.API.STREAM.NAMES", request.data(),
                                              static_cast<int>(request.size()),
                                              static_cast<std::int64_t>(timeout.count()));
  MsgPtr reply(raw);
  if (s != NATS_OK) return fail(s, what);  // no responders: JetStream is down
  const char* data = natsMsg_GetData(reply.get());
  const auto answer = nlohmann::json::parse(
      std::string_view(data != nullptr ? data : "",
                       static_cast<std::size_t>(natsMsg_GetDataLength(reply.get()))),
      nullptr, false);
  if (!answer.is_object()) return fleet::fail(Errc::internal, what + ": unreadable answer");
  if (const auto error = answer.find("error"); error != answer.end() && error->is_object()) {
    // 503: the cluster has no meta leader right now.
    const bool leaderless = error->value("code", 0) == 503;
    return fleet::fail(leaderless ? Errc::unavailable : Errc::rejected,
                       what + ": " + error->value("description", std::string("refused")));
  }
  const auto streams = answer.find("streams");
  if (streams == answer.end() || !streams->is_array() || streams->empty() ||
      !streams->front().is_string()) {
    return std::optional<std::string>{};
  }
  return streams->front().get<std::string>();
}

Result<std::map<std::string, std::uint64_t>> subject_counts(jsCtx* js, const std::string& stream,
                                                            const std::string& filter) {
  jsOptions options;
  jsOptions_Init(&options);
  options.Stream.Info.SubjectsFilter = filter.c_str();
  jsStreamInfo* raw = nullptr;
  jsErrCode code{};
  const natsStatus s = js_GetStreamInfo(&raw, js, stream.c_str(), &options, &code);
  StreamInfoPtr info(raw);
  if (s != NATS_OK) return fail(s, code, "subjects of " + stream);
  std::map<std::string, std::uint64_t> counts;
  if (const auto* subjects = info->State.Subjects) {
    for (int i = 0; i < subjects->Count; ++i) {
      counts[subjects->List[i].Subject] = subjects->List[i].Msgs;
    }
  }
  return counts;
}

}  // namespace fleet::broker::jetstream
