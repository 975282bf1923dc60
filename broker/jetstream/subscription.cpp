#include "subscription.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "ack_reply.hpp"
#include "header_block.hpp"
#include "nats_message.hpp"
#include "pull_consumer.hpp"
#include "status.hpp"

namespace fleet::broker::jetstream {
namespace {

// Holds one delivered natsMsg: the Delivery reads it in place (no copy of headers or body) and
// settles it by publishing to its ack subject (ack_reply.hpp). Settling is not synchronous (no
// round trip per message): cnats buffers the publish and its flusher writes it within a few
// milliseconds; the connection's destruction flushes too. A settle lost in a disconnect means a
// redelivery after AckWait, never a lost message (at least once). A delivery of a durable with
// AckPolicy none (ConsumerConfig::acks false) is settled by the server once sent: settling it
// here sends nothing.
class MsgHandle final : public Delivery::Handle, public Delivery::View {
 public:
  MsgHandle(std::shared_ptr<Connection> connection, std::shared_ptr<const std::string> name,
            MsgPtr msg, bool acks)
      : connection_(std::move(connection)),
        name_(std::move(name)),
        msg_(std::move(msg)),
        headers_(msg_.get()),
        acks_(acks) {}

  Status ack() override { return send(kAck, "ack"); }
  Status retry_after(std::chrono::milliseconds delay) override {
    return send(nak_body(delay), "nak");
  }
  Status in_progress() override { return send(kInProgress, "in-progress"); }
  Status terminate() override { return send(kTerminate, "term"); }

  std::string_view subject() const override {
    const char* subject = natsMsg_GetSubject(msg_.get());
    return subject ? std::string_view(subject) : std::string_view();
  }
  std::optional<std::string_view> header(std::string_view name) const override {
    return headers_.get(name);
  }
  std::string_view body() const override {
    const char* data = natsMsg_GetData(msg_.get());
    if (!data) return {};
    return {data, static_cast<std::size_t>(natsMsg_GetDataLength(msg_.get()))};
  }
  Message copy() const override { return from_received(msg_.get()); }

 private:
  Status send(std::string_view body, std::string_view what) const {
    if (!acks_) return {};
    const natsStatus s = natsConnection_Publish(connection_->nats(), natsMsg_GetReply(msg_.get()),
                                                body.data(), static_cast<int>(body.size()));
    if (s == NATS_OK) return {};
    return fail(s, std::string(what) + " on " + *name_);
  }

  std::shared_ptr<Connection> connection_;  // declared first: outlives the message
  std::shared_ptr<const std::string> name_;
  MsgPtr msg_;
  ReceivedHeaders headers_;  // split once, read by every lookup
  bool acks_;                // false: the durable's AckPolicy is none
};

class PullSubscription final : public Subscription {
 public:
  PullSubscription(std::unique_ptr<PullConsumer> consumer, bool acks)
      : consumer_(std::move(consumer)),
        name_(std::make_shared<const std::string>(consumer_->name())),
        acks_(acks) {}

  Result<std::vector<Delivery>> fetch(std::size_t max, std::chrono::milliseconds wait) override {
    auto messages = consumer_->next(max, wait);
    if (!messages) return std::unexpected(messages.error());
    std::vector<Delivery> deliveries;
    deliveries.reserve(messages->size());
    for (auto& msg : *messages) {
      const auto meta = parse_ack_reply(natsMsg_GetReply(msg.get()));
      // Not a JetStream delivery (a stray message on the inbox): skip it.
      if (!meta) continue;
      auto handle =
          std::make_unique<MsgHandle>(consumer_->connection(), name_, std::move(msg), acks_);
      const Delivery::View* view = handle.get();
      deliveries.emplace_back(view, meta->delivered, meta->stream_sequence, std::move(handle));
    }
    return deliveries;
  }

  void close() override { consumer_->close(); }

 private:
  std::unique_ptr<PullConsumer> consumer_;
  std::shared_ptr<const std::string> name_;
  bool acks_;
};

}  // namespace

Result<std::unique_ptr<Subscription>> subscribe(std::shared_ptr<Connection> connection,
                                                const ConsumerConfig& config) {
  if (config.stream.empty() || config.durable.empty()) {
    return fleet::fail(Errc::invalid_argument, "subscribe needs a stream and a durable name");
  }
  // Fail fast on a durable that does not exist, as binding through cnats did.
  jsConsumerInfo* raw_info = nullptr;
  jsErrCode code{};
  const natsStatus s = js_GetConsumerInfo(&raw_info, connection->js(), config.stream.c_str(),
                                          config.durable.c_str(), nullptr, &code);
  ConsumerInfoPtr info(raw_info);
  if (s != NATS_OK) return fail(s, code, "subscribe to " + config.stream + "/" + config.durable);
  // The durable's own policy counts, not the config's: it cannot change once created.
  const bool acks = info->Config == nullptr || info->Config->AckPolicy != js_AckNone;
  auto consumer = PullConsumer::open(std::move(connection), config.stream, config.durable);
  if (!consumer) return std::unexpected(consumer.error());
  return std::make_unique<PullSubscription>(std::move(*consumer), acks);
}

}  // namespace fleet::broker::jetstream
