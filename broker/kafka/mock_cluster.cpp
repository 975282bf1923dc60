// librdkafka's mock cluster (rdkafka_mock.h), owned by an otherwise idle producer handle.
#include <librdkafka/rdkafka.h>
// rdkafka_mock.h must follow rdkafka.h.
#include <librdkafka/rdkafka_mock.h>

#include <vector>

#include "fleet/broker/kafka.hpp"
#include "kafka/handles.hpp"
#include "kafka/mock_cluster.hpp"

namespace fleet::broker::kafka {
namespace {

class Mock final : public MockCluster {
 public:
  Mock(KafkaPtr owner, rd_kafka_mock_cluster_t* cluster)
      : owner_(std::move(owner)), cluster_(cluster) {}
  ~Mock() override { rd_kafka_mock_cluster_destroy(cluster_); }
  std::string bootstrap_servers() const override {
    return rd_kafka_mock_cluster_bootstraps(cluster_);
  }
  rd_kafka_mock_cluster_t* cluster() const { return cluster_; }

 private:
  KafkaPtr owner_;  // destroyed after the cluster
  rd_kafka_mock_cluster_t* cluster_;
};

}  // namespace

void refuse_requests(MockCluster& cluster, std::int16_t api_key, int count,
                     rd_kafka_resp_err_t error) {
  const std::vector<rd_kafka_resp_err_t> errors(static_cast<std::size_t>(count), error);
  rd_kafka_mock_push_request_errors_array(dynamic_cast<Mock&>(cluster).cluster(), api_key,
                                          errors.size(), errors.data());
}

Result<std::unique_ptr<MockCluster>> MockCluster::start(int brokers) {
  auto conf = make_conf({{"log_level", "3"}});
  if (!conf) return fail(conf.error());
  auto owner = make_client(RD_KAFKA_PRODUCER, std::move(*conf));
  if (!owner) return fail(owner.error());
  rd_kafka_mock_cluster_t* cluster = rd_kafka_mock_cluster_new(owner->get(), brokers);
  if (cluster == nullptr) return fail(Errc::internal, "could not start the mock Kafka cluster");
  return std::unique_ptr<MockCluster>(std::make_unique<Mock>(std::move(*owner), cluster));
}

}  // namespace fleet::broker::kafka
