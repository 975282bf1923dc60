#include "stream_store.hpp"

#include <condition_variable>
#include <mutex>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "nats_message.hpp"
#include "status.hpp"

namespace fleet::broker::jetstream {
namespace {

using namespace std::chrono_literals;

// The server's words for "that sequence holds no message" (already removed, perhaps by a
// concurrent replay or purge): "no message found" on nats-server 2.9, "not found" elsewhere.
bool says_gone(std::string_view description) {
  return description.find("no message found") != std::string_view::npos ||
         description.find("not found") != std::string_view::npos;
}

// Answers to delete requests, matched by the last token of their reply subject.
class Removals {
 public:
  using Done = std::function<void(const Status&)>;

  std::uint64_t add(Done done) {
    std::lock_guard lock(mu_);
    const std::uint64_t token = ++last_token_;
    waiting_.emplace(token, std::move(done));
    return token;
  }
  void drop(std::uint64_t token) {
    std::lock_guard lock(mu_);
    waiting_.erase(token);
  }

  // Subscription callback; `closure` is the Removals.
  static void on_reply(natsConnection*, natsSubscription*, natsMsg* raw, void* closure) {
    MsgPtr msg(raw);
    auto& self = *static_cast<Removals*>(closure);
    const std::string_view subject = natsMsg_GetSubject(msg.get());
    const auto dot = subject.rfind('.');
    std::uint64_t token = 0;
    try {
      token = std::stoull(std::string(subject.substr(dot + 1)));
    } catch (const std::exception&) {
      return;
    }
    Done done;
    {
      std::lock_guard lock(self.mu_);
      auto it = self.waiting_.find(token);
      if (it == self.waiting_.end()) return;  // failed by a flush timeout already
      done = std::move(it->second);
      self.waiting_.erase(it);
      ++self.running_;
    }
    done(parse(msg.get()));
    std::lock_guard lock(self.mu_);
    --self.running_;
    self.idle_.notify_all();
  }

  Status wait(std::chrono::milliseconds timeout) {
    std::unordered_map<std::uint64_t, Done> late;
    {
      std::unique_lock lock(mu_);
      if (idle_.wait_for(lock, timeout, [&] { return waiting_.empty() && running_ == 0; })) {
        return {};
      }
      late.swap(waiting_);
    }
    const Error error{Errc::timeout, "stream message delete: no answer from the server"};
    for (auto& [token, done] : late) done(fleet::fail(error));
    std::unique_lock lock(mu_);
    idle_.wait(lock, [&] { return running_ == 0; });
    return fleet::fail(error);
  }

 private:
  static Status parse(natsMsg* msg) {
    if (natsMsg_IsNoResponders(msg)) {
      return fleet::fail(Errc::unavailable, "stream message delete: JetStream did not answer");
    }
    const char* data = natsMsg_GetData(msg);
    const std::string_view text(data != nullptr ? data : "",
                                static_cast<std::size_t>(natsMsg_GetDataLength(msg)));
    // The common answer, recognised without building a JSON document per removal.
    if (text.find("\"success\":true") != std::string_view::npos &&
        text.find("\"error\"") == std::string_view::npos) {
      return {};
    }
    const auto reply = nlohmann::json::parse(text, nullptr, false);
    if (reply.is_object() && reply.value("success", false)) return {};
    std::string description = "unreadable answer";
    int code = 0;
    if (reply.is_object() && reply.contains("error") && reply["error"].is_object()) {
      description = reply["error"].value("description", description);
      code = reply["error"].value("code", 0);
    }
    const bool gone = code == 404 || says_gone(description);
    return fleet::fail(gone ? Errc::not_found : Errc::rejected,
                       "stream message delete: " + description);
  }

  std::mutex mu_;
  std::condition_variable idle_;
  std::unordered_map<std::uint64_t, Done> waiting_;
  std::uint64_t last_token_ = 0;
  int running_ = 0;
};

class JetStreamStreamStore final : public StreamStore {
 public:
  JetStreamStreamStore(std::shared_ptr<Connection> connection, std::string stream)
      : connection_(std::move(connection)),
        stream_(std::move(stream)),
        delete_subject_("$JS.API.STREAM.MSG.DELETE." + stream_) {}

  ~JetStreamStreamStore() override {
    if (!replies_) return;
    // After the drain no reply callback runs, so `removals_` may go.
    if (natsSubscription_Drain(replies_.get()) == NATS_OK) {
      natsSubscription_WaitForDrainCompletion(replies_.get(), 5'000);
    }
  }

  Status open_replies() {
    natsInbox* raw_inbox = nullptr;
    natsStatus s = natsInbox_Create(&raw_inbox);
    if (s != NATS_OK) return fail(s, "reply inbox");
    reply_prefix_ = std::string(raw_inbox) + ".";
    natsInbox_Destroy(raw_inbox);
    natsSubscription* sub = nullptr;
    s = natsConnection_Subscribe(&sub, connection_->nats(), (reply_prefix_ + "*").c_str(),
                                 &Removals::on_reply, &removals_);
    replies_.reset(sub);
    if (s != NATS_OK) return fail(s, "subscribe to delete replies");
    // Many removals may be in flight; do not let cnats drop replies as a slow consumer.
    natsSubscription_SetPendingLimits(replies_.get(), -1, -1);
    return {};
  }

  Status scan(std::uint64_t from, const std::string& subject_filter,
              const std::function<bool(StoredMessage&)>& visit) override {
    jsStreamInfo* raw_info = nullptr;
    jsErrCode code{};
    natsStatus s = js_GetStreamInfo(&raw_info, connection_->js(), stream_.c_str(), nullptr, &code);
    StreamInfoPtr info(raw_info);
    if (s != NATS_OK) return fail(s, code, "stream info " + stream_);
    const std::uint64_t last = info->State.LastSeq;
    if (info->State.Msgs == 0 || last < from) return {};

    jsSubOptions options;
    jsSubOptions_Init(&options);
    options.Stream = stream_.c_str();
    options.Ordered = true;
    options.Config.DeliverPolicy = js_DeliverByStartSequence;
    options.Config.OptStartSeq = std::max<std::uint64_t>(from, 1);
    const std::string subject = subject_filter.empty() ? ">" : subject_filter;
    natsSubscription* raw_sub = nullptr;
    s = js_SubscribeSync(&raw_sub, connection_->js(), subject.c_str(), nullptr, &options, &code);
    SubscriptionPtr sub(raw_sub);
    if (s != NATS_OK) return fail(s, code, "scan " + stream_);
    struct Unsubscribe {
      natsSubscription* sub;
      ~Unsubscribe() { natsSubscription_Unsubscribe(sub); }
    } unsubscribe{sub.get()};

    jsConsumerInfo* raw_consumer = nullptr;
    s = natsSubscription_GetConsumerInfo(&raw_consumer, sub.get(), nullptr, &code);
    ConsumerInfoPtr consumer(raw_consumer);
    if (s != NATS_OK) return fail(s, code, "scan " + stream_);
    // A push consumer starts delivering at once: what is not pending any more was delivered.
    if (consumer->NumPending == 0 && consumer->Delivered.Consumer == 0) return {};

    for (int quiet = 0;;) {
      natsMsg* raw = nullptr;
      s = natsSubscription_NextMsg(&raw, sub.get(), 2'000);
      MsgPtr msg(raw);
      if (s == NATS_TIMEOUT) {
        // Either the rest was removed while scanning (done), or the server is slow: ask it.
        // A scan that ends early would look complete, so a silent server is an error.
        jsConsumerInfo* raw_now = nullptr;
        const natsStatus is = natsSubscription_GetConsumerInfo(&raw_now, sub.get(), nullptr, &code);
        ConsumerInfoPtr now(raw_now);
        if (is == NATS_OK && now->NumPending == 0) return {};
        if (++quiet == 5) {
          return fleet::fail(Errc::timeout, "scan " + stream_ + ": no message for 10 s while " +
                                                "the consumer still had some pending");
        }
        continue;
      }
      quiet = 0;
      if (s != NATS_OK) return fail(s, "scan " + stream_);
      jsMsgMetaData* raw_meta = nullptr;
      if (natsMsg_GetMetaData(&raw_meta, msg.get()) != NATS_OK) continue;
      MetaDataPtr meta(raw_meta);
      StoredMessage stored{.sequence = meta->Sequence.Stream, .message = from_received(msg.get())};
      if (stored.sequence > last) return {};
      if (!visit(stored)) return {};
      if (meta->NumPending == 0 || stored.sequence == last) return {};
    }
  }

  Result<StoredMessage> get(std::uint64_t sequence) override {
    natsMsg* raw = nullptr;
    jsErrCode code{};
    const natsStatus s =
        js_GetMsg(&raw, connection_->js(), stream_.c_str(), sequence, nullptr, &code);
    MsgPtr msg(raw);
    const std::string what = stream_ + " message " + std::to_string(sequence);
    if (s == NATS_NOT_FOUND || code == JSNoMessageFoundErr) {
      return fleet::fail(Errc::not_found, "no " + what);
    }
    if (s != NATS_OK) return fail(s, code, "get " + what);
    return StoredMessage{.sequence = sequence, .message = from_received(msg.get())};
  }

  Status remove(std::uint64_t sequence) override {
    jsErrCode code{};
    // Removal without erasing: the tooling only needs it gone, and erasing costs a rewrite.
    const natsStatus s = js_DeleteMsg(connection_->js(), stream_.c_str(), sequence, nullptr, &code);
    const std::string what = stream_ + " message " + std::to_string(sequence);
    if (s == NATS_OK) return {};
    auto error = to_error(s, code, "remove " + what);
    if (s == NATS_NOT_FOUND || code == JSNoMessageFoundErr || says_gone(error.message)) {
      error.code = Errc::not_found;
    }
    return fleet::fail(std::move(error));
  }

  Status remove_async(std::uint64_t sequence, std::function<void(const Status&)> done) override {
    const std::uint64_t token = removals_.add(std::move(done));
    const std::string body = R"({"seq":)" + std::to_string(sequence) + R"(,"no_erase":true})";
    const natsStatus s =
        natsConnection_PublishRequest(connection_->nats(), delete_subject_.c_str(),
                                      (reply_prefix_ + std::to_string(token)).c_str(), body.data(),
                                      static_cast<int>(body.size()));
    if (s != NATS_OK) {
      removals_.drop(token);
      return fail(s, "remove " + stream_ + " message " + std::to_string(sequence));
    }
    return {};
  }

  Status flush(std::chrono::milliseconds timeout) override {
    natsConnection_FlushTimeout(connection_->nats(), std::max<std::int64_t>(1, timeout.count()));
    return removals_.wait(timeout);
  }

 private:
  std::shared_ptr<Connection> connection_;
  std::string stream_;
  std::string delete_subject_;
  std::string reply_prefix_;
  Removals removals_;
  SubscriptionPtr replies_;  // declared after removals_: its drain runs first
};

}  // namespace

Result<std::unique_ptr<StreamStore>> open_stream_store(std::shared_ptr<Connection> connection,
                                                       const std::string& stream) {
  jsStreamInfo* raw_info = nullptr;
  jsErrCode code{};
  const natsStatus s =
      js_GetStreamInfo(&raw_info, connection->js(), stream.c_str(), nullptr, &code);
  StreamInfoPtr info(raw_info);
  if (s != NATS_OK) return fail(s, code, "stream " + stream);
  auto store = std::make_unique<JetStreamStreamStore>(std::move(connection), stream);
  if (auto ok = store->open_replies(); !ok) return fleet::fail(ok.error());
  return store;
}

}  // namespace fleet::broker::jetstream
