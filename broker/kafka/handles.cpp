#include "kafka/handles.hpp"

namespace fleet::broker::kafka {

Result<ConfPtr> make_conf(const std::map<std::string, std::string>& properties) {
  ConfPtr conf(rd_kafka_conf_new());
  char error[512];
  for (const auto& [name, value] : properties) {
    if (rd_kafka_conf_set(conf.get(), name.c_str(), value.c_str(), error, sizeof error) !=
        RD_KAFKA_CONF_OK) {
      return fail(Errc::invalid_argument, "kafka property " + name + ": " + error);
    }
  }
  return conf;
}

Result<KafkaPtr> make_client(rd_kafka_type_t type, ConfPtr conf) {
  char error[512];
  rd_kafka_t* handle = rd_kafka_new(type, conf.get(), error, sizeof error);
  if (handle == nullptr) return fail(Errc::invalid_argument, std::string("kafka client: ") + error);
  (void)conf.release();  // rd_kafka_new owns it now
  return KafkaPtr(handle);
}

Error kafka_error(rd_kafka_resp_err_t err, const std::string& context) {
  switch (err) {
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
      return Error{Errc::timeout, context + ": " + rd_kafka_err2str(err)};
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
    case RD_KAFKA_RESP_ERR__QUEUE_FULL:
    case RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION:
    case RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_COORDINATOR:
    case RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS:
    case RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS:
      return Error{Errc::unavailable, context + ": " + rd_kafka_err2str(err)};
    // Too large for the producer (message.max.bytes) or the broker (max.message.bytes): like
    // JetStream's "maximum payload exceeded", the caller sent something the broker cannot take
    // as it is (the runtime trims a dead-letter copy and tries again).
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
      return Error{Errc::invalid_argument, context + ": " + rd_kafka_err2str(err)};
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
      return Error{Errc::not_found, context + ": " + rd_kafka_err2str(err)};
    default:
      return Error{Errc::rejected, context + ": " + rd_kafka_err2str(err)};
  }
}

}  // namespace fleet::broker::kafka
