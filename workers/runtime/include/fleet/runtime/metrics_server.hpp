// A process's HTTP endpoint for operators (cpp-httplib), on its own thread:
//   /metrics  Prometheus text (exposition format 0.0.4)
//   /healthz  200 while the process runs
//   /readyz   200 when the process can do its work, else 503 (the body says why)
// Workers use the Metrics overload (their counters plus the broker's backlog numbers); other
// processes (the outbox relay) pass their own renderer and readiness check.
#pragma once

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

struct Endpoints {
  // The /metrics body. Called on the server's threads, possibly concurrently.
  std::function<std::string()> metrics;
  // /readyz: true = 200, false = 503; `reason` becomes the body (one line). Unset = always 200.
  std::function<bool(std::string& reason)> ready;
};

class MetricsServer {
 public:
  // Binds `address` ("host:port"; port 0 = any free port) or fails with invalid_argument /
  // unavailable.
  static Result<std::unique_ptr<MetricsServer>> start(const std::string& address,
                                                      Endpoints endpoints);
  // A worker's endpoint: /metrics = Metrics::render(&transport); ready while the broker is
  // connected and `subscribed()` says every binding is. `metrics` and `transport` must outlive
  // the server.
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
