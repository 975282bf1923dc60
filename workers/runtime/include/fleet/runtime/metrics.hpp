// A worker's counters, in the Prometheus text format (exposition format 0.0.4). The worker
// counts per binding (role and subject pattern, so label cardinality stays bounded); the broker's
// own numbers (consumer backlog, DLQ depth) are read when the metrics are rendered.
//
// Thread-safe: the worker's lanes and confirmation threads count, the HTTP thread renders.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "fleet/broker/transport.hpp"
#include "fleet/runtime/circuit_breaker.hpp"

namespace fleet::runtime {

class Metrics {
 public:
  // Upper bounds of the handler-duration histogram, in seconds.
  static const std::vector<double>& buckets();

  // A binding's durable, for the consumer backlog gauges.
  void bind(const std::string& role, const std::string& stream, const std::string& durable);

  void handled(const std::string& role, const std::string& subject, double seconds);
  void failed(const std::string& role, const std::string& subject, const std::string& error_class);
  void retried(const std::string& role, const std::string& subject);
  void dead_lettered(const std::string& role, const std::string& subject,
                     const std::string& error_class);
  void inbox_hit(const std::string& role);
  void publish_error(const std::string& role);
  // A dead-letter publish failed: the message is held unsettled and the publish retried.
  void dead_letter_failed(const std::string& role);
  // A try found a broker or store unreachable (`reason`: the outcome's error class, or "inbox"):
  // the message is held and handled again after a pause, costing no attempt.
  void held(const std::string& role, const std::string& reason);
  // A handler ran far past its timeout: its lane thread was abandoned and replaced.
  void lane_replaced(const std::string& role);
  // The broker refused a settle (`settle`: ack, redeliver, in-progress, terminate).
  void settle_failed(const std::string& role, const std::string& settle);
  void in_flight(const std::string& role, int delta);
  // fleet_circuit_state{role,binding}: 0 closed, 1 open, 2 half-open (binding = its subject).
  void circuit_state(const std::string& role, const std::string& binding, CircuitState state);
  // Saga orchestrators (workers/saga), labelled role and saga (the definition's name): a saga's
  // start applied; a saga ended with its final status ("completed" or "failed", compensations
  // done); the sagas this process holds active now (ActiveSagas' count, an estimate per process).
  void saga_started(const std::string& role, const std::string& saga);
  void saga_ended(const std::string& role, const std::string& saga, const std::string& status);
  void sagas_active(const std::string& role, const std::string& saga, std::size_t active);

  // Prometheus text. With a transport: also consumer pending / ack pending of every bound
  // durable and the messages in `dlq_stream` (a broker that does not answer leaves them out).
  std::string render(broker::Transport* transport = nullptr,
                     const std::string& dlq_stream = "DLQ") const;

 private:
  using Labels = std::vector<std::pair<std::string, std::string>>;
  struct Histogram {
    std::vector<std::uint64_t> counts;  // per bucket, not cumulative
    double sum = 0;
    std::uint64_t count = 0;
  };
  struct Durable {
    std::string role, stream, durable;
  };

  mutable std::mutex mutex_;
  std::map<Labels, std::uint64_t> handled_, failed_, retried_, dead_, inbox_hits_, publish_errors_,
      dead_letter_failures_, held_, lanes_replaced_, settle_failures_, sagas_started_, sagas_ended_;
  std::map<std::string, std::int64_t> in_flight_;
  std::map<Labels, int> circuits_;
  std::map<Labels, std::size_t> sagas_active_;
  std::map<std::string, Histogram> durations_;
  std::vector<Durable> durables_;
};

}  // namespace fleet::runtime
