#include "kafka/producer.hpp"

#include <future>

#include "fleet/thread_name.hpp"
#include "kafka/records.hpp"

namespace fleet::broker::kafka {
namespace {

// Rides along with one record as its opaque and comes back in its delivery report.
struct Pending {
  Producer* producer;
  std::string stream;
  PublishCallback done;
};

}  // namespace

Result<std::unique_ptr<Producer>> Producer::start(const Config& config) {
  std::map<std::string, std::string> properties = {
      {"bootstrap.servers", config.brokers},
      {"client.id", config.name},
      // Idempotence: the broker drops the producer's own retries, in order, per partition.
      {"enable.idempotence", "true"},
      {"acks", "all"},
      {"linger.ms", std::to_string(config.linger.count())},
      {"queue.buffering.max.messages", std::to_string(config.max_in_flight)},
      // A record not confirmed within this long fails with a timeout (retriable).
      {"message.timeout.ms", "30000"},
      {"partitioner", "murmur2_random"},  // the Java client's: same key, same partition
  };
  for (const auto& [name, value] : config.properties) properties[name] = value;
  auto conf = make_conf(properties);
  if (!conf) return fail(conf.error());
  rd_kafka_conf_set_dr_msg_cb(conf->get(), &Producer::on_delivery);
  auto handle = make_client(RD_KAFKA_PRODUCER, std::move(*conf));
  if (!handle) return fail(handle.error());
  return std::unique_ptr<Producer>(new Producer(std::move(*handle), config.request_timeout));
}

Producer::Producer(KafkaPtr handle, std::chrono::milliseconds request_timeout)
    : handle_(std::move(handle)), request_timeout_(request_timeout) {
  poller_ = std::thread([this] {
    name_this_thread("kproduce", {});
    while (!stopping_.load() || outstanding_.load() > 0) rd_kafka_poll(handle_.get(), 50);
  });
}

Producer::~Producer() {
  (void)flush(request_timeout_);
  // Whatever is still outstanding fails with a purge report, so every callback runs once.
  rd_kafka_purge(handle_.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  stopping_ = true;
  poller_.join();
}

void Producer::on_delivery(rd_kafka_t*, const rd_kafka_message_t* record, void*) {
  std::unique_ptr<Pending> pending(static_cast<Pending*>(record->_private));
  if (!pending) return;
  if (record->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    if (pending->done)
      pending->done(fail(kafka_error(record->err, "publish to " + pending->stream)));
  } else if (pending->done) {
    pending->done(PublishAck{.stream = pending->stream,
                             .sequence = to_sequence(record->partition, record->offset)});
  }
  pending->producer->finished();
}

void Producer::finished() {
  if (outstanding_.fetch_sub(1) == 1) {
    std::lock_guard lock(mutex_);
    idle_.notify_all();
  }
}

Status Producer::publish_async(const std::string& topic, const std::string& stream,
                               const Message& message, PublishCallback done) {
  auto pending = std::make_unique<Pending>(Pending{this, stream, std::move(done)});
  const std::string_view key = record_key(message);
  const auto deadline = std::chrono::steady_clock::now() + request_timeout_;
  for (;;) {
    HeadersPtr headers = record_headers(message);
    ++outstanding_;
    const rd_kafka_resp_err_t err = rd_kafka_producev(
        handle_.get(), RD_KAFKA_V_TOPIC(topic.c_str()),
        RD_KAFKA_V_VALUE(const_cast<char*>(message.body.data()), message.body.size()),
        RD_KAFKA_V_KEY(key.empty() ? nullptr : key.data(), key.size()),
        RD_KAFKA_V_HEADERS(headers.get()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_OPAQUE(pending.get()), RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      (void)headers.release();  // the record owns them now
      (void)pending.release();  // comes back in on_delivery
      return {};
    }
    finished();
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL || std::chrono::steady_clock::now() > deadline) {
      return fail(kafka_error(err, "publish to " + stream));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));  // the poll thread frees room
  }
}

Result<PublishAck> Producer::publish(const std::string& topic, const std::string& stream,
                                     const Message& message, std::chrono::milliseconds timeout) {
  auto answer = std::make_shared<std::promise<Result<PublishAck>>>();
  auto future = answer->get_future();
  auto sent = publish_async(topic, stream, message, [answer](const Result<PublishAck>& result) {
    answer->set_value(result);
  });
  if (!sent) return fail(sent.error());
  if (future.wait_for(timeout) != std::future_status::ready) {
    return fail(Errc::timeout, "publish to " + stream + " not confirmed in time");
  }
  return future.get();
}

Status Producer::publish_raw(const std::string& topic, std::string_view key,
                             const std::string* value, std::chrono::milliseconds timeout) {
  auto answer = std::make_shared<std::promise<Result<PublishAck>>>();
  auto future = answer->get_future();
  auto sent = publish_raw_async(topic, key, value,
                                [answer](const Result<PublishAck>& r) { answer->set_value(r); });
  if (!sent) return sent;
  if (future.wait_for(timeout) != std::future_status::ready) {
    return fail(Errc::timeout, "publish to " + topic + " not confirmed in time");
  }
  auto result = future.get();
  if (!result) return fail(result.error());
  return {};
}

Status Producer::publish_raw_async(const std::string& topic, std::string_view key,
                                   const std::string* value, PublishCallback done) {
  auto pending = std::make_unique<Pending>(Pending{this, topic, std::move(done)});
  ++outstanding_;
  const rd_kafka_resp_err_t err = rd_kafka_producev(
      handle_.get(), RD_KAFKA_V_TOPIC(topic.c_str()),
      RD_KAFKA_V_VALUE(value ? const_cast<char*>(value->data()) : nullptr,
                       value ? value->size() : 0),
      RD_KAFKA_V_KEY(key.data(), key.size()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
      RD_KAFKA_V_OPAQUE(pending.get()), RD_KAFKA_V_END);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    finished();
    return fail(kafka_error(err, "publish to " + topic));
  }
  (void)pending.release();  // comes back in on_delivery
  return {};
}

Status Producer::flush(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  if (!idle_.wait_for(lock, timeout, [this] { return outstanding_.load() <= 0; })) {
    return fail(Errc::timeout,
                std::to_string(outstanding_.load()) + " publishes still unconfirmed");
  }
  return {};
}

}  // namespace fleet::broker::kafka
