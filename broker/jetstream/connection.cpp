#include "connection.hpp"

#include <string>
#include <string_view>
#include <vector>

#include "publish_tracker.hpp"
#include "status.hpp"

namespace fleet::broker::jetstream {
namespace {

std::vector<std::string> split_urls(std::string_view list) {
  std::vector<std::string> urls;
  while (!list.empty()) {
    const auto comma = list.find(',');
    std::string_view url = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
    while (!url.empty() && url.front() == ' ') url.remove_prefix(1);
    while (!url.empty() && url.back() == ' ') url.remove_suffix(1);
    if (!url.empty()) urls.emplace_back(url);
  }
  return urls;
}

Result<OptionsPtr> make_options(const Config& config) {
  const std::vector<std::string> urls = split_urls(config.url);
  if (urls.empty()) return fleet::fail(Errc::invalid_argument, "no NATS server url given");
  std::vector<const char*> servers;
  for (const auto& url : urls) servers.push_back(url.c_str());

  natsOptions* raw = nullptr;
  natsStatus s = natsOptions_Create(&raw);
  OptionsPtr options(raw);
  if (s == NATS_OK) {
    s = natsOptions_SetServers(options.get(), servers.data(), static_cast<int>(servers.size()));
  }
  if (s == NATS_OK) s = natsOptions_SetName(options.get(), config.name.c_str());
  // Per attempt. No RetryOnFailedConnect: the first connect fails fast when no server answers.
  if (s == NATS_OK) s = natsOptions_SetTimeout(options.get(), config.connect_timeout.count());
  if (s == NATS_OK) s = natsOptions_SetAllowReconnect(options.get(), true);
  // Negative = reconnect forever.
  if (s == NATS_OK) s = natsOptions_SetMaxReconnect(options.get(), config.max_reconnect);
  if (s == NATS_OK) s = natsOptions_SetReconnectWait(options.get(), config.reconnect_wait.count());
  // Publishes (and acks) made while reconnecting wait here and are sent after the reconnect.
  if (s == NATS_OK) {
    s = natsOptions_SetReconnectBufSize(options.get(), config.reconnect_buffer_bytes);
  }
  if (s != NATS_OK) return fail(s, "NATS options for " + config.url);
  return options;
}

}  // namespace

Connection::Connection(std::size_t in_flight)
    : publishes_(std::make_unique<PublishTracker>(in_flight)) {}

Result<std::shared_ptr<Connection>> Connection::open(const Config& config) {
  auto options = make_options(config);
  if (!options) return std::unexpected(options.error());

  if (config.max_in_flight <= 0) {
    return fleet::fail(Errc::invalid_argument, "max_in_flight must be positive");
  }
  std::shared_ptr<Connection> connection(
      new Connection(static_cast<std::size_t>(config.max_in_flight)));
  natsConnection* nc = nullptr;
  natsStatus s = natsConnection_Connect(&nc, options->get());
  connection->nc_.reset(nc);
  if (s != NATS_OK) return fail(s, "connect to " + config.url);

  jsOptions js_options;
  jsOptions_Init(&js_options);
  js_options.Wait = config.request_timeout.count();  // ms
  js_options.PublishAsync.MaxPending = config.max_in_flight;
  js_options.PublishAsync.StallWait = config.request_timeout.count();  // ms
  js_options.PublishAsync.AckHandler = &PublishTracker::on_ack;
  js_options.PublishAsync.AckHandlerClosure = connection->publishes_.get();
  jsCtx* js = nullptr;
  s = natsConnection_JetStream(&js, nc, &js_options);
  connection->js_.reset(js);
  if (s != NATS_OK) return fail(s, "JetStream context on " + config.url);
  return connection;
}

Connection::~Connection() {
  // Before jsCtx_Destroy, which would drop pending publishes without calling their callbacks.
  if (js_) publishes_->shutdown(js_.get());
  // Non-sync acks and naks may still sit in the write buffer; a flush (PING/PONG) puts them on
  // the wire, so finished work is not redelivered.
  if (connected()) natsConnection_FlushTimeout(nc_.get(), 1'000);
  js_.reset();
  nc_.reset();
}

bool Connection::connected() const {
  return nc_ && natsConnection_Status(nc_.get()) == NATS_CONN_STATUS_CONNECTED;
}

}  // namespace fleet::broker::jetstream
