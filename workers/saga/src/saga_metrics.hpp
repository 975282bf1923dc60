// What an orchestrator reports to its process's metrics: fleet_sagas_started_total,
// fleet_sagas_ended_total{status} and fleet_sagas_active (runtime/metrics.hpp). Without metrics
// (tests, tools) it does nothing. Thread-safe (Metrics is).
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "fleet/runtime/metrics.hpp"

namespace fleet::saga {

class SagaMetrics {
 public:
  SagaMetrics() = default;
  SagaMetrics(std::shared_ptr<runtime::Metrics> metrics, std::string role, std::string saga)
      : metrics_(std::move(metrics)), role_(std::move(role)), saga_(std::move(saga)) {
    if (metrics_) metrics_->sagas_active(role_, saga_, 0);
  }

  // A saga's start was applied; `active` is this process's count afterwards.
  void started(std::size_t active) const {
    if (!metrics_) return;
    metrics_->saga_started(role_, saga_);
    metrics_->sagas_active(role_, saga_, active);
  }
  // A transition ended a saga with `status` (completed, failed).
  void ended(const std::string& status, std::size_t active) const {
    if (!metrics_) return;
    metrics_->saga_ended(role_, saga_, status);
    metrics_->sagas_active(role_, saga_, active);
  }

 private:
  std::shared_ptr<runtime::Metrics> metrics_;
  std::string role_, saga_;
};

}  // namespace fleet::saga
