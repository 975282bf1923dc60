// `fleet dev-kafka`: a Kafka cluster for development and tests, in this process (librdkafka's
// mock cluster). There is no Kafka broker in Debian; production runs real Kafka (compose/).
#include <signal.h>

#include <iostream>

#include "broker_options.hpp"
#include "commands.hpp"
#include "fleet/broker/kafka.hpp"

namespace fleet::cli {

void add_dev_kafka_command(CLI::App& app) {
  auto* command = app.add_subcommand(
      "dev-kafka",
      "Run a development Kafka cluster (librdkafka's mock cluster: real Kafka protocol on "
      "127.0.0.1) until stopped; prints its bootstrap address. Limits: a few MB kept per "
      "partition (about 17,000 small records), transactional offsets not stored, everything "
      "lost when it stops, topics auto-created with 4 partitions.");
  auto brokers = std::make_shared<int>(1);
  command->add_option("--brokers", *brokers, "Brokers in the cluster")
      ->check(CLI::Range(1, 16))
      ->capture_default_str();
  command->callback([brokers] {
    // Taken by sigwait below, never by a handler.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    auto cluster = broker::kafka::MockCluster::start(*brokers);
    if (!cluster) throw CommandError("dev-kafka: " + cluster.error().message);
    std::cout << (*cluster)->bootstrap_servers() << std::endl;
    int received = 0;
    sigwait(&signals, &received);
  });
}

}  // namespace fleet::cli
