// memory::connect: a Transport that forwards to a shared Broker. Deliveries keep the Broker
// alive, so they can be settled after the transport that fetched them is gone.
#include <utility>

#include "memory/broker.hpp"

namespace fleet::broker::memory {
namespace {

class Handle final : public Delivery::Handle {
 public:
  Handle(std::shared_ptr<Broker> broker, std::string stream, std::string durable,
         std::uint64_t sequence, std::uint64_t attempt)
      : broker_(std::move(broker)),
        stream_(std::move(stream)),
        durable_(std::move(durable)),
        sequence_(sequence),
        attempt_(attempt) {}

  Status ack() override { return settle(Settle::ack, {}); }
  Status retry_after(std::chrono::milliseconds delay) override {
    return settle(Settle::retry, delay);
  }
  Status in_progress() override { return settle(Settle::progress, {}); }
  Status terminate() override { return settle(Settle::terminate, {}); }

 private:
  Status settle(Settle how, std::chrono::milliseconds delay) {
    return broker_->settle(stream_, durable_, sequence_, attempt_, how, delay);
  }

  std::shared_ptr<Broker> broker_;
  std::string stream_;
  std::string durable_;
  std::uint64_t sequence_;
  std::uint64_t attempt_;
};

class MemorySubscription final : public Subscription {
 public:
  MemorySubscription(std::shared_ptr<Broker> broker, std::string stream, std::string durable)
      : broker_(std::move(broker)), stream_(std::move(stream)), durable_(std::move(durable)) {}

  Result<std::vector<Delivery>> fetch(std::size_t max, std::chrono::milliseconds wait) override {
    auto claims = broker_->fetch(stream_, durable_, max, wait);
    if (!claims) return std::unexpected(claims.error());
    std::vector<Delivery> out;
    out.reserve(claims->size());
    for (auto& claim : *claims) {
      auto handle =
          std::make_unique<Handle>(broker_, stream_, durable_, claim.sequence, claim.attempt);
      out.emplace_back(std::move(claim.message), claim.attempt, claim.sequence, std::move(handle));
    }
    return out;
  }

 private:
  std::shared_ptr<Broker> broker_;
  std::string stream_;
  std::string durable_;
};

class MemoryTransport final : public Transport {
 public:
  explicit MemoryTransport(std::shared_ptr<Broker> broker) : broker_(std::move(broker)) {}

  Status ensure_stream(const StreamConfig& config) override {
    return broker_->ensure_stream(config);
  }
  Status ensure_consumer(const ConsumerConfig& config) override {
    return broker_->ensure_consumer(config);
  }
  bool connected() const override { return true; }
  Result<std::map<std::string, std::uint64_t>> subject_counts(const std::string& stream,
                                                              const std::string& filter) override {
    return broker_->subject_counts(stream, filter);
  }
  Status remove_consumer(const std::string& stream, const std::string& durable) override {
    return broker_->remove_consumer(stream, durable);
  }
  Result<PublishAck> publish(const Message& message, std::chrono::milliseconds) override {
    return broker_->publish(message);  // never blocks, so the timeout cannot be hit
  }
  // The broker answers at once, so the callback runs here and flush has nothing to wait for.
  Status publish_async(const Message& message, PublishCallback done) override {
    auto ack = broker_->publish(message);
    if (done) done(ack);
    return {};
  }
  Status flush(std::chrono::milliseconds) override { return {}; }

  // Binds to an existing durable (ensure_consumer creates it), as the JetStream transport does.
  Result<std::unique_ptr<Subscription>> subscribe(const ConsumerConfig& config) override {
    if (auto ok = broker_->has_consumer(config.stream, config.durable); !ok) {
      return std::unexpected(ok.error());
    }
    return std::make_unique<MemorySubscription>(broker_, config.stream, config.durable);
  }

  Result<std::vector<StreamInfo>> streams() override { return broker_->streams(); }

  Result<std::unique_ptr<KeyValue>> key_value(const BucketConfig& config) override {
    return open_key_value(broker_, config);
  }

  Result<std::unique_ptr<StreamStore>> stream_store(const std::string& stream) override {
    return open_stream_store(broker_, stream);
  }

 private:
  std::shared_ptr<Broker> broker_;
};

}  // namespace

std::unique_ptr<Transport> connect(std::shared_ptr<Broker> broker) {
  return std::make_unique<MemoryTransport>(std::move(broker));
}

}  // namespace fleet::broker::memory
