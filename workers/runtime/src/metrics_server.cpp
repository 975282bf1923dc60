#include "fleet/runtime/metrics_server.hpp"

#include <httplib.h>

#include <charconv>

namespace fleet::runtime {

Result<std::unique_ptr<MetricsServer>> MetricsServer::start(const std::string& address,
                                                            std::shared_ptr<Metrics> metrics,
                                                            broker::Transport& transport,
                                                            std::function<bool()> subscribed) {
  return start(
      address,
      Endpoints{.metrics = [metrics, &transport] { return metrics->render(&transport); },
                .ready =
                    [&transport, subscribed](std::string& reason) {
                      const bool connected = transport.connected();
                      const bool bound = subscribed();
                      reason = std::string(connected ? "broker connected" : "broker disconnected") +
                               (bound ? ", subscriptions bound" : ", not subscribed yet");
                      return connected && bound;
                    }});
}

Result<std::unique_ptr<MetricsServer>> MetricsServer::start(const std::string& address,
                                                            Endpoints endpoints) {
  const auto colon = address.rfind(':');
  int port = -1;
  if (colon != std::string::npos) {
    const char* begin = address.data() + colon + 1;
    const char* end = address.data() + address.size();
    if (std::from_chars(begin, end, port).ptr != end) port = -1;
  }
  if (colon == std::string::npos || colon == 0 || port < 0 || port > 65535) {
    return fail(Errc::invalid_argument, "metrics address must be host:port, got '" + address + "'");
  }
  const std::string host = address.substr(0, colon);

  std::unique_ptr<MetricsServer> server(new MetricsServer());
  server->server_ = std::make_unique<httplib::Server>();
  auto& http = *server->server_;
  http.Get("/metrics",
           [render = endpoints.metrics](const httplib::Request&, httplib::Response& res) {
             res.set_content(render ? render() : std::string(), "text/plain; version=0.0.4");
           });
  http.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });
  http.Get("/readyz", [ready = endpoints.ready](const httplib::Request&, httplib::Response& res) {
    std::string reason = "ready";
    const bool ok = !ready || ready(reason);
    res.status = ok ? 200 : 503;
    res.set_content(reason + "\n", "text/plain");
  });
  if (port == 0) {
    port = http.bind_to_any_port(host);
  } else if (!http.bind_to_port(host, port)) {
    port = -1;
  }
  if (port <= 0) return fail(Errc::unavailable, "cannot listen on " + address);
  server->address_ = host + ":" + std::to_string(port);
  server->thread_ = std::thread([&http] { http.listen_after_bind(); });
  return server;
}

MetricsServer::~MetricsServer() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace fleet::runtime
