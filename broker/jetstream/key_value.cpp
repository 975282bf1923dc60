#include "key_value.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <chrono>
#include <climits>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "header_block.hpp"
#include "publish_tracker.hpp"
#include "status.hpp"

namespace fleet::broker::jetstream {
namespace {

// cnats' kvMaxHistory: the server keeps at most 64 revisions per key in a KV bucket.
constexpr int max_history = 64;

// kvConfig.TTL becomes the stream's MaxAge as is, so like every stream duration it is in
// NANOseconds (cnats' header does not say).
std::int64_t nanos(std::chrono::milliseconds duration) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(duration).count();
}

std::string stream_of(const BucketConfig& config) {
  return "KV_" + config.name;
}

Status check(const BucketConfig& config) {
  if (config.ttl.count() < 0) {
    return fleet::fail(Errc::invalid_argument, "bucket " + config.name + ": negative ttl");
  }
  if (config.history < 1 || config.history > max_history) {
    return fleet::fail(Errc::invalid_argument, "bucket " + config.name + ": history must be 1.." +
                                                   std::to_string(max_history));
  }
  if (config.replicas < 1) {
    return fleet::fail(Errc::invalid_argument, "bucket " + config.name + ": replicas < 1");
  }
  return {};
}

// Brings an existing bucket's TTL and history to `config`, through the stream behind it: cnats
// has no "update key-value" call. A replicated bucket also loses AllowDirect: a direct get may be
// answered by any replica, and one that is catching up (a node just restarted) returns an old
// revision. The saga orchestrator would then take a current reply for a late one and drop it.
// Without it every get goes to the stream leader.
Status reconcile(jsCtx* js, const BucketConfig& config) {
  const std::string stream = stream_of(config);
  jsStreamInfo* raw = nullptr;
  jsErrCode code{};
  natsStatus s = js_GetStreamInfo(&raw, js, stream.c_str(), nullptr, &code);
  StreamInfoPtr info(raw);
  if (s != NATS_OK) return fail(s, code, "read bucket " + config.name);
  jsStreamConfig& current = *info->Config;
  const std::int64_t max_age = nanos(config.ttl);
  const bool direct = current.AllowDirect && current.Replicas <= 1;
  if (current.MaxAge == max_age && current.MaxMsgsPerSubject == config.history &&
      current.AllowDirect == direct) {
    return {};
  }
  current.MaxAge = max_age;
  current.MaxMsgsPerSubject = config.history;
  current.AllowDirect = direct;
  // The duplicate window may not exceed MaxAge, and the server derived the current one from the
  // old TTL; 0 makes it derive the window again.
  current.Duplicates = 0;
  raw = nullptr;
  code = {};
  s = js_UpdateStream(&raw, js, &current, nullptr, &code);
  StreamInfoPtr updated(raw);
  if (s != NATS_OK) return fail(s, code, "update bucket " + config.name);
  return {};
}

Result<KvStorePtr> bind(jsCtx* js, const BucketConfig& config) {
  // Before binding: cnats decides at bind time whether gets are direct.
  if (auto ok = reconcile(js, config); !ok) return fleet::fail(ok.error());
  kvStore* raw = nullptr;
  const natsStatus s = js_KeyValue(&raw, js, config.name.c_str());
  KvStorePtr kv(raw);
  if (s != NATS_OK) return fail(s, "open bucket " + config.name);
  return kv;
}

Result<KvStorePtr> create(jsCtx* js, const BucketConfig& config) {
  kvConfig cfg;
  kvConfig_Init(&cfg);
  cfg.Bucket = config.name.c_str();
  cfg.History = static_cast<std::uint8_t>(config.history);
  cfg.TTL = nanos(config.ttl);
  cfg.Replicas = config.replicas;
  // Inbox and saga state must survive a server restart.
  cfg.StorageType = js_FileStorage;
  kvStore* raw = nullptr;
  const natsStatus s = js_CreateKeyValue(&raw, js, &cfg);
  KvStorePtr kv(raw);
  if (s != NATS_OK) return fail(s, "create bucket " + config.name);
  if (config.replicas > 1) return bind(js, config);  // without direct gets (see reconcile)
  return kv;
}

// Keys go to cnats as C strings: an embedded NUL would silently cut the key short.
Result<std::string> c_key(std::string_view key) {
  if (key.find('\0') != std::string_view::npos) {
    return fleet::fail(Errc::invalid_argument, "key contains a NUL byte");
  }
  return std::string(key);
}

// JetStream's key rule: [-/_=.a-zA-Z0-9], not starting or ending with '.', no empty token.
bool valid_key(std::string_view key) {
  if (key.empty() || key.front() == '.' || key.back() == '.') return false;
  if (key.find("..") != std::string_view::npos) return false;
  return std::all_of(key.begin(), key.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '-' || c == '/' || c == '_' || c == '=' || c == '.';
  });
}

// cnats' kv API drops the server's error code for a failed compare-and-set (10071,
// JSStreamWrongLastSequenceErr) and keeps only its description in the thread's last error, so
// the conflict is recognised by that text. Call right after the failing kvStore call.
Error write_error(natsStatus status, std::string_view what) {
  Error error = to_error(status, jsErrCode{}, what);
  if (status == NATS_ERR && error.message.find("wrong last sequence") != std::string::npos) {
    error.code = Errc::conflict;
  }
  return error;
}

// Whether the bucket's stream answers direct gets (`$JS.API.DIRECT.GET`), which get_many needs.
bool allows_direct(jsCtx* js, const std::string& bucket) {
  jsStreamInfo* raw = nullptr;
  jsErrCode code{};
  const std::string stream = "KV_" + bucket;
  if (js_GetStreamInfo(&raw, js, stream.c_str(), nullptr, &code) != NATS_OK) return false;
  StreamInfoPtr info(raw);
  return info->Config != nullptr && info->Config->AllowDirect;
}

class JetStreamKeyValue final : public KeyValue {
 public:
  JetStreamKeyValue(std::shared_ptr<Connection> connection, KvStorePtr kv, std::string bucket,
                    bool direct)
      : connection_(std::move(connection)),
        kv_(std::move(kv)),
        bucket_(std::move(bucket)),
        direct_(direct) {}

  // Direct gets pipelined on the KeyValue's reply subscription: every request is written before
  // the first answer is awaited, so N keys cost one round trip instead of N. The subscription
  // lives as long as the KeyValue (one `<inbox>.>`, as cnats' own request mux), so a batch costs
  // no SUB / UNSUB; answers are routed by their reply subject `<inbox>.<call>.<index>`, and a
  // late answer to an earlier call that gave up is recognised by its call number and dropped.
  // Calls from several threads take turns.
  std::vector<Result<std::optional<Entry>>> get_many(
      const std::vector<std::string>& keys) override {
    if (!direct_ || keys.size() < 2) return KeyValue::get_many(keys);
    std::lock_guard lock(replies_mutex_);
    if (!replies_ && !subscribe_replies()) return KeyValue::get_many(keys);
    const std::uint64_t call = ++calls_;
    std::vector<Result<std::optional<Entry>>> entries(keys.size());
    std::vector<char> answered(keys.size(), 0);
    std::string& reply = reply_buffer_;
    std::string& body = body_buffer_;
    reply.assign(reply_prefix_).append(1, '.');
    append_number(reply, call);
    reply += '.';
    const std::size_t reply_base = reply.size();
    std::size_t sent = 0;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      if (keys[i].find('\0') != std::string::npos || !valid_key(keys[i])) {
        entries[i] = fleet::fail(Errc::invalid_argument, "invalid key " + name(keys[i]));
        answered[i] = 1;
        continue;
      }
      body.assign(body_head_).append(keys[i]).append("\"}");
      reply.resize(reply_base);
      append_number(reply, i);
      const natsStatus s =
          natsConnection_PublishRequest(connection_->nats(), direct_api_.c_str(), reply.c_str(),
                                        body.data(), static_cast<int>(body.size()));
      if (s != NATS_OK) {
        entries[i] = fail(s, "get " + name(keys[i]));
        answered[i] = 1;
        continue;
      }
      ++sent;
    }
    connection_->send_now();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    for (std::size_t got = 0; got < sent;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      natsMsg* raw = nullptr;
      if (natsSubscription_NextMsg(&raw, replies_.get(), left.count()) != NATS_OK) break;
      MsgPtr msg(raw);
      const auto index = answer_index(natsMsg_GetSubject(msg.get()), call);
      if (!index || *index >= keys.size() || answered[*index]) continue;
      answered[*index] = 1;
      ++got;
      entries[*index] = entry_of(msg.get(), keys[*index]);
    }
    for (std::size_t i = 0; i < keys.size(); ++i) {
      if (!answered[i]) entries[i] = fleet::fail(Errc::timeout, "no answer from bucket " + bucket_);
    }
    return entries;
  }

  Result<std::optional<Entry>> get(std::string_view key) override {
    auto k = c_key(key);
    if (!k) return fleet::fail(k.error());
    kvEntry* raw = nullptr;
    const natsStatus s = kvStore_Get(&raw, kv_.get(), k->c_str());
    KvEntryPtr entry(raw);
    // Also for a key whose latest revision is a delete marker.
    if (s == NATS_NOT_FOUND) return std::optional<Entry>{};
    if (s != NATS_OK) return fail(s, "get " + name(*k));
    Entry out;
    const auto* data = static_cast<const char*>(kvEntry_Value(entry.get()));
    const int size = kvEntry_ValueLen(entry.get());
    if (data != nullptr && size > 0) out.value.assign(data, static_cast<std::size_t>(size));
    out.revision = kvEntry_Revision(entry.get());
    return std::optional<Entry>(std::move(out));
  }

  Result<std::uint64_t> put(std::string_view key, std::string_view value) override {
    return write(key, value, "put", [&](std::uint64_t* revision, const char* k, int size) {
      return kvStore_Put(revision, kv_.get(), k, value.data(), size);
    });
  }

  // A put is a JetStream publish to the key's subject, so it can ride the async publish path.
  // Many a second (the inbox): the subject is built in a buffer of this thread, not allocated.
  Status put_async(std::string_view key, std::string_view value, WriteCallback done) override {
    return write_async(key, value, std::nullopt, std::move(done));
  }

  // The same publish with the header a compare-and-set is checked by: the server refuses it
  // (JSStreamWrongLastSequenceErr, Errc::conflict) unless the subject's last sequence, the
  // key's revision, is `expected` (0: no message at all on the subject).
  Status compare_and_set_async(std::string_view key, std::string_view value, std::uint64_t expected,
                               WriteCallback done) override {
    return write_async(key, value, expected, std::move(done));
  }

  Result<std::uint64_t> create(std::string_view key, std::string_view value) override {
    auto created = write_checked(key, value, 0, "create");
    if (created || created.error().code != Errc::conflict) return created;
    // The key has entries. kvStore_Create also succeeds over a delete marker, so an erased key
    // can be created again; on a live entry it fails with the same conflict.
    return write(key, value, "create", [&](std::uint64_t* revision, const char* k, int size) {
      return kvStore_Create(revision, kv_.get(), k, value.data(), size);
    });
  }

  Result<std::uint64_t> update(std::string_view key, std::string_view value,
                               std::uint64_t expected) override {
    // 0 would mean "must not exist", which is create's job.
    if (expected == 0) return fleet::fail(Errc::invalid_argument, "update expects a revision > 0");
    return write_checked(key, value, expected, "update");
  }

  Status erase(std::string_view key) override {
    auto k = c_key(key);
    if (!k) return fleet::fail(k.error());
    const natsStatus s = kvStore_Delete(kv_.get(), k->c_str());
    if (s != NATS_OK) return fail(s, "erase " + name(*k));
    return {};
  }

 private:
  template <class Call>
  Result<std::uint64_t> write(std::string_view key, std::string_view value, const char* verb,
                              Call&& call) {
    auto k = c_key(key);
    if (!k) return fleet::fail(k.error());
    if (value.size() > static_cast<std::size_t>(INT_MAX)) {
      return fleet::fail(Errc::invalid_argument, "value too large for " + name(*k));
    }
    std::uint64_t revision = 0;
    const natsStatus s = call(&revision, k->c_str(), static_cast<int>(value.size()));
    if (s != NATS_OK) return fleet::fail(write_error(s, std::string(verb) + " " + name(*k)));
    return revision;
  }

  std::string name(const std::string& key) const { return bucket_ + "/" + key; }

  // A write of `value` to `key`, with compare-and-set on the key's last revision when
  // `expected` is set (0 = no entry yet), as one message whose header block fleet encodes:
  // kvStore_Update would build cnats' header map for its one header, a large share of a saga
  // orchestrator's CPU.
  Result<MsgPtr> write_message(std::string_view key, std::string_view value,
                               std::optional<std::uint64_t> expected) const {
    // As kvStore_Update checks it (valid_key also refuses a NUL byte).
    if (!valid_key(key)) {
      return fleet::fail(Errc::invalid_argument, "invalid key " + name(std::string(key)));
    }
    thread_local std::string subject;
    subject.assign("$KV.").append(bucket_).append(1, '.').append(key);
    thread_local std::string revision;
    revision.clear();
    if (expected) append_number(revision, *expected);
    const std::array<HeaderField, 1> check{
        HeaderField{"Nats-Expected-Last-Subject-Sequence", revision}};
    return make_message(subject, Headers{}, check, value);
  }

  // write_message, waiting for the stream's answer. Errc::conflict when the key's revision is
  // not `expected`.
  Result<std::uint64_t> write_checked(std::string_view key, std::string_view value,
                                      std::uint64_t expected, const char* verb) {
    auto msg = write_message(key, value, expected);
    if (!msg) return fleet::fail(msg.error());
    jsPubOptions options;
    jsPubOptions_Init(&options);
    jsPubAck* raw = nullptr;
    jsErrCode code{};
    const natsStatus s = js_PublishMsg(&raw, connection_->js(), msg->get(), &options, &code);
    PubAckPtr ack(raw);
    if (s != NATS_OK) return fail(s, code, std::string(verb) + " " + name(std::string(key)));
    return ack->Sequence;
  }

  Status write_async(std::string_view key, std::string_view value,
                     std::optional<std::uint64_t> expected, WriteCallback done) {
    auto msg = write_message(key, value, expected);
    if (!msg) return fleet::fail(msg.error());
    jsPubOptions options;
    jsPubOptions_Init(&options);
    return connection_->publishes().publish(
        connection_->js(), std::move(*msg), &options,
        [done = std::move(done)](const Result<PublishAck>& ack) {
          if (ack) {
            done(ack->sequence);
          } else {
            done(fleet::fail(ack.error()));
          }
        });
  }

  // A direct get's answer: the stored message, or a 404 status, or a delete / purge marker.
  Result<std::optional<Entry>> entry_of(natsMsg* msg, const std::string& key) const {
    const ReceivedHeaders headers(msg);
    const auto header_of = [&headers](std::string_view name) {
      return headers.get(name).value_or(std::string_view());
    };
    const std::string_view status = header_of("Status");
    if (status == "404") return std::optional<Entry>{};
    if (!status.empty()) {
      return fleet::fail(Errc::unavailable, "get " + name(key) + ": status " + std::string(status) +
                                                " " + std::string(header_of("Description")));
    }
    const std::string_view operation = header_of("KV-Operation");
    if (operation == "DEL" || operation == "PURGE") return std::optional<Entry>{};
    Entry out;
    const std::string_view sequence = header_of("Nats-Sequence");
    (void)std::from_chars(sequence.data(), sequence.data() + sequence.size(), out.revision);
    if (const char* data = natsMsg_GetData(msg)) {
      out.value.assign(data, static_cast<std::size_t>(natsMsg_GetDataLength(msg)));
    }
    return std::optional<Entry>(std::move(out));
  }

  static void append_number(std::string& out, std::uint64_t n) {
    char digits[24];
    const auto [end, error] = std::to_chars(digits, digits + sizeof digits, n);
    out.append(digits, end);
  }

  // The index of an answer to call `call` from its subject `<inbox>.<call>.<index>`; nullopt
  // for anything else (a late answer to an earlier call).
  std::optional<std::size_t> answer_index(std::string_view subject, std::uint64_t call) const {
    if (subject.size() <= reply_prefix_.size() + 1) return std::nullopt;
    subject.remove_prefix(reply_prefix_.size() + 1);
    std::uint64_t number = 0;
    auto [end, error] = std::from_chars(subject.data(), subject.data() + subject.size(), number);
    if (error != std::errc{} || number != call || end == subject.data() + subject.size() ||
        *end != '.') {
      return std::nullopt;
    }
    std::size_t index = 0;
    const char* last = subject.data() + subject.size();
    auto [index_end, index_error] = std::from_chars(end + 1, last, index);
    if (index_error != std::errc{} || index_end != last) return std::nullopt;
    return index;
  }

  // Under replies_mutex_: the reply subscription of get_many, made on first use.
  bool subscribe_replies() {
    natsInbox* raw_inbox = nullptr;
    if (natsInbox_Create(&raw_inbox) != NATS_OK) return false;
    std::string prefix = raw_inbox;
    natsInbox_Destroy(raw_inbox);
    natsSubscription* raw_sub = nullptr;
    const std::string wildcard = prefix + ".>";
    if (natsConnection_SubscribeSync(&raw_sub, connection_->nats(), wildcard.c_str()) != NATS_OK) {
      return false;
    }
    replies_.reset(raw_sub);
    // The bound is the batch each call asks for, not cnats' pending limits.
    (void)natsSubscription_SetPendingLimits(raw_sub, -1, -1);
    reply_prefix_ = std::move(prefix);
    direct_api_ = "$JS.API.DIRECT.GET.KV_" + bucket_;
    body_head_ = "{\"last_by_subj\":\"$KV." + bucket_ + ".";
    return true;
  }

  // Declared first so it is destroyed last: the kvStore publishes through its connection.
  std::shared_ptr<Connection> connection_;
  KvStorePtr kv_;
  std::string bucket_;
  bool direct_;

  std::mutex replies_mutex_;  // get_many's state below
  SubscriptionPtr replies_;
  std::string reply_prefix_;  // the subscription's inbox
  std::string direct_api_;    // $JS.API.DIRECT.GET.KV_<bucket>
  std::string body_head_;     // {"last_by_subj":"$KV.<bucket>.
  std::string reply_buffer_, body_buffer_;
  std::uint64_t calls_ = 0;
};

}  // namespace

Result<std::unique_ptr<KeyValue>> open_key_value(std::shared_ptr<Connection> connection,
                                                 const BucketConfig& config) {
  if (auto ok = check(config); !ok) return fleet::fail(ok.error());
  jsCtx* js = connection->js();
  auto kv = bind(js, config);
  // On a busy cluster a stream update (reconcile) goes through the meta leader and may outlast
  // the request timeout while many processes start at once; it is idempotent, so try again.
  for (int attempt = 1; attempt < 4 && !kv && kv.error().code == Errc::timeout; ++attempt) {
    kv = bind(js, config);
  }
  if (!kv && kv.error().code == Errc::not_found) {
    kv = create(js, config);
    // Another process may have created it since, with another TTL or history; the server then
    // refuses ours ("Existing configuration is different" on 2.9), and binding to theirs and
    // updating it wins. Seen often when several processes start at once.
    if (!kv && kv.error().code != Errc::invalid_argument) {
      if (auto again = bind(js, config)) kv = std::move(again);
    }
  }
  if (!kv) return fleet::fail(kv.error());
  const bool direct = allows_direct(js, config.name);
  return std::unique_ptr<KeyValue>(std::make_unique<JetStreamKeyValue>(
      std::move(connection), std::move(*kv), config.name, direct));
}

}  // namespace fleet::broker::jetstream
