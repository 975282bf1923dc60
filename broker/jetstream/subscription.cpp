#include "subscription.hpp"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <string>
#include <utility>

#include "nats_message.hpp"
#include "status.hpp"

namespace fleet::broker::jetstream {
namespace {

// What a fetched message needs to stay valid: natsMsg_Ack reaches the connection through the
// message's raw natsSubscription pointer, so the subscription (and connection) outlive it.
struct PullState {
  std::shared_ptr<Connection> connection;  // declared first: destroyed after the subscription
  SubscriptionPtr sub;
  std::string name;  // "STREAM/durable", for error messages
};

// Acks are not synchronous (no round trip per message): cnats buffers them, and its flusher
// thread writes them within a few milliseconds; a later fetch or the connection's destruction
// flushes them too. An ack lost in a disconnect means a redelivery after AckWait, never a lost
// message (at least once).
class MsgHandle final : public Delivery::Handle {
 public:
  MsgHandle(std::shared_ptr<const PullState> state, MsgPtr msg)
      : state_(std::move(state)), msg_(std::move(msg)) {}

  Status ack() override { return check(natsMsg_Ack(msg_.get(), nullptr), "ack"); }
  Status retry_after(std::chrono::milliseconds delay) override {
    if (delay.count() <= 0) return check(natsMsg_Nak(msg_.get(), nullptr), "nak");
    // NakWithDelay takes MILLIseconds.
    return check(natsMsg_NakWithDelay(msg_.get(), delay.count(), nullptr), "nak");
  }
  Status in_progress() override {
    return check(natsMsg_InProgress(msg_.get(), nullptr), "in-progress");
  }
  Status terminate() override { return check(natsMsg_Term(msg_.get(), nullptr), "term"); }

 private:
  Status check(natsStatus status, std::string_view what) const {
    if (status == NATS_OK) return {};
    return fail(status, std::string(what) + " on " + state_->name);
  }

  std::shared_ptr<const PullState> state_;  // declared first: destroyed after the message
  MsgPtr msg_;
};

class PullSubscription final : public Subscription {
 public:
  explicit PullSubscription(std::shared_ptr<const PullState> state) : state_(std::move(state)) {}

  Result<std::vector<Delivery>> fetch(std::size_t max, std::chrono::milliseconds wait) override {
    std::vector<Delivery> deliveries;
    if (max == 0) return deliveries;
    const int batch = static_cast<int>(std::min<std::size_t>(max, INT_MAX));
    // MILLIseconds; cnats rejects 0.
    const std::int64_t timeout = std::max<std::int64_t>(1, wait.count());
    MsgList list;
    jsErrCode code{};
    const natsStatus s =
        natsSubscription_Fetch(list.out(), state_->sub.get(), batch, timeout, &code);
    // Nothing arrived in time. cnats 3.4.1 can also return NATS_TIMEOUT at once when a 408 from
    // an earlier expired pull request is still queued; either way it is an empty fetch.
    if (s == NATS_TIMEOUT) return deliveries;
    if (s != NATS_OK) return fail(s, code, "fetch on " + state_->name);

    deliveries.reserve(static_cast<std::size_t>(list.size()));
    for (int i = 0; i < list.size(); ++i) {
      MsgPtr msg = list.take(i);
      jsMsgMetaData* raw_meta = nullptr;
      const natsStatus ms = natsMsg_GetMetaData(&raw_meta, msg.get());
      MetaDataPtr meta(raw_meta);
      // Not a JetStream delivery (should not happen on a pull subscription): skip it rather
      // than fail the batch; the rest are valid and already taken.
      if (ms != NATS_OK) continue;
      // Read before the handle takes the message (argument evaluation order is unspecified).
      Message message = from_nats(msg.get());
      deliveries.emplace_back(std::move(message), meta->NumDelivered, meta->Sequence.Stream,
                              std::make_unique<MsgHandle>(state_, std::move(msg)));
    }
    return deliveries;
  }

 private:
  std::shared_ptr<const PullState> state_;
};

}  // namespace

Result<std::unique_ptr<Subscription>> subscribe(std::shared_ptr<Connection> connection,
                                                const ConsumerConfig& config) {
  if (config.stream.empty() || config.durable.empty()) {
    return fleet::fail(Errc::invalid_argument, "subscribe needs a stream and a durable name");
  }
  auto state = std::make_shared<PullState>();
  state->connection = std::move(connection);
  state->name = config.stream + "/" + config.durable;

  jsSubOptions options;
  jsSubOptions_Init(&options);
  options.Stream = config.stream.c_str();
  options.Consumer = config.durable.c_str();
  options.ManualAck = true;
  // cnats requires a subject, and when binding it must equal the consumer's filter subject.
  const std::string subject = config.filter_subject.empty() ? ">" : config.filter_subject;
  natsSubscription* raw = nullptr;
  jsErrCode code{};
  const natsStatus s = js_PullSubscribe(&raw, state->connection->js(), subject.c_str(),
                                        config.durable.c_str(), nullptr, &options, &code);
  state->sub.reset(raw);
  if (s != NATS_OK) return fail(s, code, "subscribe to " + state->name);
  return std::make_unique<PullSubscription>(std::move(state));
}

}  // namespace fleet::broker::jetstream
