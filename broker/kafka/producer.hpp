// The idempotent producer every Kafka transport owns: publishes records and hands each delivery
// report to its callback on the producer's poll thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "fleet/broker/kafka.hpp"
#include "kafka/handles.hpp"

namespace fleet::broker::kafka {

class Producer {
 public:
  static Result<std::unique_ptr<Producer>> start(const Config& config);
  ~Producer();  // waits up to request_timeout for outstanding delivery reports

  // Sends `message` to `topic`; `done` gets the broker's answer, with `stream` in the ack.
  // Blocks while max_in_flight records are outstanding (up to request_timeout).
  Status publish_async(const std::string& topic, const std::string& stream, const Message& message,
                       PublishCallback done);
  Result<PublishAck> publish(const std::string& topic, const std::string& stream,
                             const Message& message, std::chrono::milliseconds timeout);
  // A tombstone (null value) for `key`: how a compacted topic forgets a key.
  Status publish_raw(const std::string& topic, std::string_view key, const std::string* value,
                     std::chrono::milliseconds timeout);
  // publish_raw without waiting: `done` gets the broker's answer on the poll thread. An error
  // return means nothing was sent (and `done` is not called).
  Status publish_raw_async(const std::string& topic, std::string_view key, const std::string* value,
                           PublishCallback done);
  Status flush(std::chrono::milliseconds timeout);

  rd_kafka_t* handle() const { return handle_.get(); }

 private:
  Producer(KafkaPtr handle, std::chrono::milliseconds request_timeout);
  static void on_delivery(rd_kafka_t*, const rd_kafka_message_t* record, void*);
  void finished();

  KafkaPtr handle_;
  std::chrono::milliseconds request_timeout_;
  std::mutex mutex_;
  std::condition_variable idle_;
  std::atomic<long> outstanding_{0};
  std::atomic<bool> stopping_{false};
  std::thread poller_;
};

}  // namespace fleet::broker::kafka
