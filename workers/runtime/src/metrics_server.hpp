// The worker's HTTP endpoint (cpp-httplib), on its own thread:
//   /metrics  Prometheus text (Metrics::render, with the broker's backlog numbers)
//   /healthz  200 while the process runs
//   /readyz   200 when the broker is connected and every binding is subscribed, else 503
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "fleet/broker/transport.hpp"
#include "fleet/runtime/metrics.hpp"

namespace httplib {
class Server;
}

namespace fleet::runtime {

class MetricsServer {
 public:
  // Binds `address` ("host:port"; port 0 = any free port) or fails with invalid_argument /
  // unavailable.
  static Result<std::unique_ptr<MetricsServer>> start(const std::string& address,
                                                      std::shared_ptr<Metrics> metrics,
                                                      broker::Transport& transport,
                                                      std::function<bool()> subscribed);
  ~MetricsServer();  // stops and joins
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  std::string address() const { return address_; }  // with the bound port

 private:
  MetricsServer() = default;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  std::string address_;
};

}  // namespace fleet::runtime
