// Kafka transport (librdkafka): connect and the in-process mock cluster. The mapping of JetStream
// ideas onto Kafka and the settings are in fleet/broker/kafka_config.hpp. Library
// fleet::broker_kafka; linking it registers the transport as "kafka" for broker::connect
// (fleet/broker/connect.hpp).
#pragma once

#include <memory>
#include <string>

#include "fleet/broker/kafka_config.hpp"
#include "fleet/broker/transport.hpp"

namespace fleet::broker::kafka {

// Connects and returns a transport; Errc::unavailable when no broker answers within
// request_timeout. After that librdkafka reconnects by itself.
Result<std::unique_ptr<Transport>> connect(const Config& config);

// librdkafka's mock cluster: real Kafka protocol on 127.0.0.1 with `brokers` brokers, in this
// process. For tests and `fleet dev-kafka` only: it keeps a few MB per partition, does not store
// transactional offsets, and forgets everything when destroyed. Topics are created on first use
// with 4 partitions.
class MockCluster {
 public:
  static Result<std::unique_ptr<MockCluster>> start(int brokers = 1);
  virtual ~MockCluster() = default;
  virtual std::string bootstrap_servers() const = 0;
};

}  // namespace fleet::broker::kafka
