#include "raw_kafka.hpp"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <stdexcept>
#include <vector>

#include <msgpack.hpp>

#include "fleet/schemas/events/bench.hpp"

namespace fleet::bench::raw_kafka {
namespace {

using Clock = std::chrono::steady_clock;

struct KafkaDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
using Kafka = std::unique_ptr<rd_kafka_t, KafkaDeleter>;
struct ListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* list) const {
    rd_kafka_topic_partition_list_destroy(list);
  }
};
using List = std::unique_ptr<rd_kafka_topic_partition_list_t, ListDeleter>;

void check(rd_kafka_resp_err_t err, const char* what) {
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    throw std::runtime_error(std::string(what) + ": " + rd_kafka_err2str(err));
  }
}

rd_kafka_conf_t* conf(const std::map<std::string, std::string>& properties) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char error[512];
  for (const auto& [name, value] : properties) {
    if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), error, sizeof error) !=
        RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      throw std::runtime_error(name + ": " + error);
    }
  }
  return conf;
}

Kafka client(rd_kafka_type_t type, rd_kafka_conf_t* conf) {
  char error[512];
  rd_kafka_t* rk = rd_kafka_new(type, conf, error, sizeof error);
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    throw std::runtime_error(std::string("rd_kafka_new: ") + error);
  }
  return Kafka(rk);
}

std::atomic<std::uint64_t> delivery_errors{0};

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* record, void*) {
  if (record->err != RD_KAFKA_RESP_ERR_NO_ERROR) delivery_errors.fetch_add(1);
}

int partition_count(rd_kafka_t* rk, const std::string& topic) {
  rd_kafka_topic_t* handle = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  const rd_kafka_metadata_t* metadata = nullptr;
  const auto err = rd_kafka_metadata(rk, 0, handle, &metadata, 10'000);
  rd_kafka_topic_destroy(handle);
  check(err, "metadata");
  const int count = metadata->topic_cnt == 1 ? metadata->topics[0].partition_cnt : 0;
  rd_kafka_metadata_destroy(metadata);
  if (count == 0) throw std::runtime_error("topic " + topic + " has no partitions");
  return count;
}

}  // namespace

double pipeline(const Pipeline& p) {
  rd_kafka_conf_t* producer_conf = conf({{"bootstrap.servers", p.brokers},
                                         {"client.id", "raw-bench"},
                                         {"enable.idempotence", "true"},
                                         {"acks", "all"},
                                         {"linger.ms", std::to_string(p.linger_ms)}});
  rd_kafka_conf_set_dr_msg_cb(producer_conf, on_delivery);
  Kafka producer = client(RD_KAFKA_PRODUCER, producer_conf);
  // Set-up, not timed: the output topic's metadata (the producer's first produce waits for it).
  (void)partition_count(producer.get(), p.output_topic);

  Kafka consumer = client(RD_KAFKA_CONSUMER, conf({{"bootstrap.servers", p.brokers},
                                                   {"client.id", "raw-bench"},
                                                   {"group.id", p.group},
                                                   // fleet's default assignor (kafka_config.hpp)
                                                   {"partition.assignment.strategy", "range"},
                                                   {"enable.auto.commit", "false"},
                                                   {"enable.auto.offset.store", "false"},
                                                   {"auto.offset.reset", "earliest"}}));
  rd_kafka_poll_set_consumer(consumer.get());
  {
    List topics(rd_kafka_topic_partition_list_new(1));
    rd_kafka_topic_partition_list_add(topics.get(), p.input_topic.c_str(), RD_KAFKA_PARTITION_UA);
    check(rd_kafka_subscribe(consumer.get(), topics.get()), "subscribe");
  }
  rd_kafka_queue_t* queue = rd_kafka_queue_get_consumer(consumer.get());

  delivery_errors = 0;
  std::vector<rd_kafka_message_t*> batch(static_cast<std::size_t>(p.batch));
  std::uint64_t done = 0;
  Clock::time_point start{};
  const std::string subject_header = "Fleet-Subject";
  while (done < p.count) {
    // consume_batch_queue waits for a full batch or the timeout: take what is there, and only
    // when nothing is, wait for one record (as the fleet subscription does).
    ssize_t got = rd_kafka_consume_batch_queue(queue, 0, batch.data(), batch.size());
    if (got == 0) got = rd_kafka_consume_batch_queue(queue, 1'000, batch.data(), 1);
    if (got < 0) check(rd_kafka_last_error(), "consume");
    if (got <= 0) continue;
    if (done == 0) start = Clock::now();
    std::map<std::int32_t, std::int64_t> next;  // partition -> offset to store
    for (ssize_t i = 0; i < got; ++i) {
      rd_kafka_message_t* in = batch[static_cast<std::size_t>(i)];
      if (in->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        const std::string error = rd_kafka_message_errstr(in);
        rd_kafka_message_destroy(in);
        throw std::runtime_error("consume: " + error);
      }
      msgpack::object_handle handle =
          msgpack::unpack(static_cast<const char*>(in->payload), in->len);
      auto payload = handle.get().as<fleet::schemas::Payload>();
      msgpack::sbuffer body;
      msgpack::pack(body, payload);

      rd_kafka_headers_t* headers = rd_kafka_headers_new(8);
      rd_kafka_header_add(headers, subject_header.data(), -1, p.output_subject.data(),
                          static_cast<ssize_t>(p.output_subject.size()));
      const std::string id = p.run_id + "-" + std::to_string(done + static_cast<std::uint64_t>(i));
      rd_kafka_header_add(headers, "Fleet-Msg-Id", -1, id.data(), static_cast<ssize_t>(id.size()));
      rd_kafka_headers_t* in_headers = nullptr;
      if (rd_kafka_message_headers(in, &in_headers) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        for (const char* name : {"Fleet-Id", "Fleet-Type", "Fleet-Schema-Version",
                                 "Fleet-Occurred-At", "Fleet-Correlation-Id", "traceparent"}) {
          const void* value = nullptr;
          std::size_t size = 0;
          if (rd_kafka_header_get_last(in_headers, name, &value, &size) ==
              RD_KAFKA_RESP_ERR_NO_ERROR) {
            rd_kafka_header_add(headers, name, -1, value, static_cast<ssize_t>(size));
          }
        }
      }
      const auto err =
          rd_kafka_producev(producer.get(), RD_KAFKA_V_TOPIC(p.output_topic.c_str()),
                            RD_KAFKA_V_VALUE(body.data(), body.size()), RD_KAFKA_V_HEADERS(headers),
                            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_headers_destroy(headers);
        check(err, "produce");
      }
      next[in->partition] = in->offset + 1;
      rd_kafka_message_destroy(in);
    }
    // At-least-once: the inputs' offsets are stored and committed only once every follow-up of
    // the batch is delivered.
    check(rd_kafka_flush(producer.get(), 60'000), "flush");
    if (delivery_errors.load() > 0) throw std::runtime_error("follow-up not delivered");
    List offsets(rd_kafka_topic_partition_list_new(static_cast<int>(next.size())));
    for (const auto& [partition, offset] : next) {
      rd_kafka_topic_partition_list_add(offsets.get(), p.input_topic.c_str(), partition)->offset =
          offset;
    }
    check(rd_kafka_offsets_store(consumer.get(), offsets.get()), "store offsets");
    (void)rd_kafka_commit(consumer.get(), nullptr, 1);  // async; the last one is awaited below
    done += static_cast<std::uint64_t>(got);
  }
  check(rd_kafka_commit(consumer.get(), nullptr, 0), "commit");
  const double rate =
      static_cast<double>(p.count) / std::chrono::duration<double>(Clock::now() - start).count();
  rd_kafka_queue_destroy(queue);
  (void)rd_kafka_consumer_close(consumer.get());
  return rate;
}

struct CommitWatcher::State {
  Kafka handle;
  std::string topic;
  int partitions = 0;
};

CommitWatcher::CommitWatcher(const std::string& brokers, const std::string& group,
                             const std::string& topic)
    : state_(new State) {
  state_->handle =
      client(RD_KAFKA_CONSUMER, conf({{"bootstrap.servers", brokers}, {"group.id", group}}));
  state_->topic = topic;
  state_->partitions = partition_count(state_->handle.get(), topic);
}

CommitWatcher::~CommitWatcher() {
  delete state_;
}

std::int64_t CommitWatcher::committed() {
  List list(rd_kafka_topic_partition_list_new(state_->partitions));
  for (int i = 0; i < state_->partitions; ++i) {
    rd_kafka_topic_partition_list_add(list.get(), state_->topic.c_str(), i);
  }
  check(rd_kafka_committed(state_->handle.get(), list.get(), 10'000), "committed");
  std::int64_t total = 0;
  for (int i = 0; i < list->cnt; ++i) total += std::max<std::int64_t>(0, list->elems[i].offset);
  return total;
}

}  // namespace fleet::bench::raw_kafka
