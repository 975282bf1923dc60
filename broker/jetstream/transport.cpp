// fleet::broker::Transport over NATS JetStream (cnats).
#include <algorithm>
#include <cstdint>
#include <utility>

#include "admin.hpp"
#include "connection.hpp"
#include "fleet/broker/jetstream.hpp"
#include "key_value.hpp"
#include "nats_message.hpp"
#include "publish_tracker.hpp"
#include "status.hpp"
#include "stream_store.hpp"
#include "subscription.hpp"

namespace fleet::broker::jetstream {
namespace {

// No header options: the dedup id is already in the message's header block (to_nats), and a
// header option would make cnats parse that block into its header map to add one.
jsPubOptions publish_options() {
  jsPubOptions options;
  jsPubOptions_Init(&options);
  return options;
}

class JetStreamTransport final : public Transport {
 public:
  JetStreamTransport(std::shared_ptr<Connection> connection, const Config& config)
      : connection_(std::move(connection)),
        replicas_(config.replicas),
        request_timeout_(config.request_timeout) {}

  // Outstanding async publishes fail (Errc::unavailable) before this returns; no callback runs
  // afterwards. Subscriptions and deliveries may outlive the transport: they share the
  // connection, which closes when the last of them goes.
  ~JetStreamTransport() override { connection_->publishes().shutdown(connection_->js()); }

  Status ensure_stream(const StreamConfig& config) override {
    if (replicas_ <= 0) return jetstream::ensure_stream(connection_->js(), config);
    StreamConfig replicated = config;
    replicated.replicas = replicas_;
    return jetstream::ensure_stream(connection_->js(), replicated);
  }

  Status ensure_consumer(const ConsumerConfig& config) override {
    return jetstream::ensure_consumer(connection_->js(), config);
  }

  Result<std::map<std::string, std::uint64_t>> subject_counts(const std::string& stream,
                                                              const std::string& filter) override {
    return jetstream::subject_counts(connection_->js(), stream, filter);
  }

  bool connected() const override { return connection_->connected(); }

  Result<DeliveryProgress> delivery_progress(const std::string& stream,
                                             const std::string& durable) override {
    return jetstream::delivery_progress(connection_->js(), stream, durable);
  }

  Status remove_consumer(const std::string& stream, const std::string& durable) override {
    return jetstream::remove_consumer(connection_->js(), stream, durable);
  }

  Status remove_stream(const std::string& name) override {
    return jetstream::remove_stream(connection_->js(), name);
  }

  Result<PublishAck> publish(const Message& message, std::chrono::milliseconds timeout) override {
    auto msg = to_nats(message);
    if (!msg) return std::unexpected(msg.error());
    jsPubOptions options = publish_options();
    options.MaxWait = std::max<std::int64_t>(1, timeout.count());  // ms
    jsPubAck* raw = nullptr;
    jsErrCode code{};
    const natsStatus s = js_PublishMsg(&raw, connection_->js(), msg->get(), &options, &code);
    PubAckPtr ack(raw);
    // A timeout does not mean "not stored": while reconnecting the request waits in the
    // reconnect buffer and may reach the stream later. Retry with the same dedup id.
    if (s != NATS_OK) return fail(s, code, "publish to " + message.subject);
    return PublishAck{ack->Stream != nullptr ? ack->Stream : "", ack->Sequence, ack->Duplicate};
  }

  Status publish_async(const Message& message, PublishCallback done) override {
    auto msg = to_nats(message);
    if (!msg) return std::unexpected(msg.error());
    jsPubOptions options = publish_options();
    return connection_->publishes().publish(connection_->js(), std::move(*msg), &options,
                                            std::move(done));
  }

  void send_now() override { connection_->send_now(); }

  Status flush(std::chrono::milliseconds timeout) override {
    return connection_->publishes().flush(connection_->js(), connection_->connected(), timeout);
  }

  Result<std::unique_ptr<Subscription>> subscribe(const ConsumerConfig& config) override {
    return jetstream::subscribe(connection_, config);
  }

  Result<std::vector<StreamInfo>> streams() override { return list_streams(connection_->js()); }

  Result<std::optional<std::string>> stream_for_subject(const std::string& subject) override {
    return jetstream::stream_for_subject(connection_->nats(), subject, request_timeout_);
  }

  Result<std::unique_ptr<KeyValue>> key_value(const BucketConfig& config) override {
    if (replicas_ <= 0) return open_key_value(connection_, config);
    BucketConfig replicated = config;
    replicated.replicas = replicas_;
    return open_key_value(connection_, replicated);
  }

  Result<std::unique_ptr<StreamStore>> stream_store(const std::string& stream) override {
    return open_stream_store(connection_, stream);
  }

 private:
  std::shared_ptr<Connection> connection_;
  int replicas_;
  std::chrono::milliseconds request_timeout_;
};

}  // namespace

Result<std::unique_ptr<Transport>> connect(const Config& config) {
  auto connection = Connection::open(config);
  if (!connection) return std::unexpected(connection.error());
  return std::make_unique<JetStreamTransport>(std::move(*connection), config);
}

}  // namespace fleet::broker::jetstream
