#include "connection.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "fleet/backoff.hpp"
#include "publish_tracker.hpp"
#include "status.hpp"

// Exported by libnats 3.4 but declared only in its private conn.h: the connection's lock, taken
// as cnats' own flusher takes it, and the write of the bytes buffered for the socket
// (Connection::send_now).
extern "C" {
void natsConn_lockAndRetain(natsConnection* nc);
void natsConn_unlockAndRelease(natsConnection* nc);
natsStatus natsConn_bufferFlush(natsConnection* nc);
}

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

// "nats://user:pass@host:4222" -> "nats://host:4222": addresses go to logs, secrets must not.
std::string without_userinfo(std::string url) {
  const auto scheme = url.find("://");
  const auto start = scheme == std::string::npos ? 0 : scheme + 3;
  const auto at = url.find('@', start);
  if (at != std::string::npos && url.find('/', start) > at) url.erase(start, at + 1 - start);
  return url;
}

std::string connected_url(natsConnection* nc) {
  char buffer[256] = {};
  if (natsConnection_GetConnectedUrl(nc, buffer, sizeof buffer) != NATS_OK) return "";
  return without_userinfo(buffer);
}

Status apply_credentials(natsOptions* options, const Credentials& c) {
  natsStatus s = NATS_OK;
  if (!c.user.empty() || !c.password.empty()) {
    s = natsOptions_SetUserInfo(options, c.user.c_str(), c.password.c_str());
  }
  if (s == NATS_OK && !c.token.empty()) s = natsOptions_SetToken(options, c.token.c_str());
  if (s == NATS_OK && !c.creds_file.empty()) {
    s = natsOptions_SetUserCredentialsFromFiles(options, c.creds_file.c_str(), nullptr);
  }
  if (s != NATS_OK) return fail(s, "NATS credentials");
  const bool tls = c.tls || !c.ca_file.empty() || !c.cert_file.empty();
  if (tls) s = natsOptions_SetSecure(options, true);
  if (s == NATS_OK && !c.ca_file.empty()) {
    s = natsOptions_LoadCATrustedCertificates(options, c.ca_file.c_str());
  }
  if (s == NATS_OK && (!c.cert_file.empty() || !c.key_file.empty())) {
    if (c.cert_file.empty() || c.key_file.empty()) {
      return fleet::fail(Errc::invalid_argument, "TLS client certificate needs cert and key");
    }
    s = natsOptions_LoadCertificatesChain(options, c.cert_file.c_str(), c.key_file.c_str());
  }
  if (s != NATS_OK) return fail(s, "NATS TLS files");
  return {};
}

}  // namespace

// Shared by the Connection and cnats' callbacks: cnats may run the disconnected and closed
// callbacks on its own thread after natsConnection_Destroy returned, and it closes a connection
// by itself when reconnect attempts are used up or the server keeps refusing the credentials —
// then the closed callback runs while the Connection is still in use. cnats holds an Anchor (a
// heap shared_ptr) as the callbacks' closure; the closed callback, always the last one, signals
// and deletes it, so Events lives until both sides are done with it.
struct Connection::Events {
  using Anchor = std::shared_ptr<Events>;

  ConnectionListener listener;
  Backoff reconnect;  // the wait after a failed pass over the server list
  std::atomic<bool> closing = false;
  std::mutex mutex;
  std::condition_variable closed_cv;
  bool closed_called = false;       // under mutex
  std::string server;               // the last one connected to; cnats forgets it once disconnected
  std::weak_ptr<Connection> owner;  // under mutex; its publishes hear of disconnects

  void connected_to(std::string url) {
    std::lock_guard lock(mutex);
    if (!url.empty()) server = std::move(url);
  }
  std::string last_server() {
    std::lock_guard lock(mutex);
    return server;
  }
  std::shared_ptr<Connection> owning_connection() {
    std::lock_guard lock(mutex);
    return owner.lock();
  }
  // True once the closed callback ran, within `timeout`.
  bool wait_closed(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex);
    return closed_cv.wait_for(lock, timeout, [&] { return closed_called; });
  }

  static Events* of(void* closure) { return static_cast<Anchor*>(closure)->get(); }
  static void disconnected(natsConnection* nc, void* closure) {
    notify(closure, ConnectionEvent::disconnected, nc);
  }
  static void reconnected(natsConnection* nc, void* closure) {
    notify(closure, ConnectionEvent::reconnected, nc);
  }
  static void closed(natsConnection*, void* closure) {
    std::unique_ptr<Anchor> anchor(static_cast<Anchor*>(closure));
    std::lock_guard lock((*anchor)->mutex);
    (*anchor)->closed_called = true;
    (*anchor)->closed_cv.notify_all();
  }
  static void notify(void* closure, ConnectionEvent event, natsConnection* nc) {
    Events* self = of(closure);
    // The disconnected callback may run after cnats already reconnected elsewhere: only a
    // reconnect names the new server.
    if (event == ConnectionEvent::reconnected) self->connected_to(connected_url(nc));
    if (self->closing) return;
    // Held for the call: a Connection being destroyed is no longer found here. (The owner is
    // set once its JetStream context exists.)
    if (auto connection = self->owning_connection()) {
      if (event == ConnectionEvent::disconnected) {
        connection->publishes().disconnected();
      } else {
        connection->publishes().reconnected(connection->js());
      }
    }
    if (!self->listener) return;
    self->listener(event, self->last_server());
  }
  // After each failed pass over the server list (attempts counts them from 1).
  static std::int64_t delay(natsConnection*, int attempts, void* closure) {
    const auto attempt = static_cast<std::uint64_t>(std::max(attempts, 1));
    return of(closure)->reconnect.delay(attempt).count();
  }
};

namespace {

// cnats spins on a contended mutex (2,000 trylocks by default) before it sleeps. A worker's lanes,
// fetch threads and confirmations all lock the one connection, and on a machine with few cores
// the spinning thread mostly waits for a holder that is not running: with the default, the
// spinning was a tenth of a saga's CPU (docs/benchmarks.md). The count is process-wide and is
// taken by the library's first initialisation only, so it is set before the first connection.
constexpr std::int64_t lock_spin_count = 0;

void open_library() {
  static const natsStatus opened = nats_Open(lock_spin_count);
  (void)opened;  // not OK only if cnats was opened with other settings first: those stay
}

Result<OptionsPtr> make_options(const Config& config, void* events) {
  open_library();
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
  if (s == NATS_OK) {
    s = natsOptions_SetCustomReconnectDelay(options.get(), &Connection::Events::delay, events);
  }
  if (s == NATS_OK) {
    s = natsOptions_SetDisconnectedCB(options.get(), &Connection::Events::disconnected, events);
  }
  if (s == NATS_OK) {
    s = natsOptions_SetReconnectedCB(options.get(), &Connection::Events::reconnected, events);
  }
  if (s == NATS_OK) s = natsOptions_SetClosedCB(options.get(), &Connection::Events::closed, events);
  // Publishes (and acks) made while reconnecting wait here and are sent after the reconnect.
  if (s == NATS_OK) {
    s = natsOptions_SetReconnectBufSize(options.get(), config.reconnect_buffer_bytes);
  }
  if (s == NATS_OK && config.send_asap) s = natsOptions_SetSendAsap(options.get(), true);
  if (s != NATS_OK) return fail(s, "NATS options for " + without_secrets(config.url));
  if (auto ok = apply_credentials(options.get(), config.credentials); !ok) {
    return std::unexpected(ok.error());
  }
  return options;
}

}  // namespace

std::string without_secrets(std::string_view url_list) {
  std::string shown;
  for (const auto& url : split_urls(url_list)) {
    if (!shown.empty()) shown += ',';
    shown += without_userinfo(url);
  }
  return shown;
}

Connection::Connection(std::size_t in_flight)
    : publishes_(std::make_unique<PublishTracker>(in_flight)) {}

Result<std::shared_ptr<Connection>> Connection::open(const Config& config) {
  if (config.max_in_flight <= 0) {
    return fleet::fail(Errc::invalid_argument, "max_in_flight must be positive");
  }
  auto events = std::make_shared<Events>();
  events->listener = config.on_connection_event;
  events->reconnect = {.initial = config.reconnect_wait,
                       .multiplier = 2.0,
                       .max = std::max(config.max_reconnect_wait, config.reconnect_wait),
                       .jitter = Backoff::Jitter::added,
                       .added_jitter = std::chrono::milliseconds(100)};
  auto anchor = std::make_unique<Events::Anchor>(events);
  auto options = make_options(config, anchor.get());
  if (!options) return std::unexpected(options.error());

  std::shared_ptr<Connection> connection(
      new Connection(static_cast<std::size_t>(config.max_in_flight)));
  connection->send_asap_ = config.send_asap;
  natsConnection* nc = nullptr;
  natsStatus s = natsConnection_Connect(&nc, options->get());
  // A failed first connect never runs a callback (cnats 3.4.1 releases the connection without
  // closing it), so the anchor is ours to free.
  if (s != NATS_OK) return fail(s, "connect to " + without_secrets(config.url));
  events->connected_to(connected_url(nc));
  (void)anchor.release();  // from here the closed callback deletes it
  connection->events_ = std::move(events);
  connection->nc_.reset(nc);

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
  if (s != NATS_OK) return fail(s, "JetStream context on " + without_secrets(config.url));
  {
    std::lock_guard lock(connection->events_->mutex);
    connection->events_->owner = connection;
  }
  return connection;
}

Connection::~Connection() {
  // Before jsCtx_Destroy, which would drop pending publishes without calling their callbacks.
  if (js_) publishes_->shutdown(js_.get());
  // Non-sync acks and naks may still sit in the write buffer; a flush (PING/PONG) puts them on
  // the wire, so finished work is not redelivered.
  if (connected()) natsConnection_FlushTimeout(nc_.get(), 1'000);
  js_.reset();
  if (events_) events_->closing = true;  // a shutdown is not a disconnect to report
  nc_.reset();
  // natsConnection_Destroy only queues the closed callback on cnats' callback thread. Waiting
  // for it means the anchor is freed before a program that is shutting down exits (otherwise
  // LeakSanitizer reports it). Bounded: should this run on that very thread, waiting would
  // never end; the anchor then stays behind, which is harmless.
  if (events_) (void)events_->wait_closed(std::chrono::seconds(2));
}

bool Connection::connected() const {
  return nc_ && natsConnection_Status(nc_.get()) == NATS_CONN_STATUS_CONNECTED;
}

void Connection::send_now() const {
  if (!nc_ || send_asap_) return;  // with SendAsap cnats wrote it already
  natsConn_lockAndRetain(nc_.get());
  // Nothing buffered: no system call. While reconnecting cnats buffers in its reconnect buffer,
  // which this leaves alone; a failed write is cnats' flusher's failure too (it resets the same
  // buffer), and the reader thread reports it and reconnects.
  (void)natsConn_bufferFlush(nc_.get());
  natsConn_unlockAndRelease(nc_.get());
}

}  // namespace fleet::broker::jetstream

// cnats 3.4 frees the messages it creates on a garbage-collector thread: natsMsg_Destroy hands
// each one to natsGC_collect, which queues it and wakes that thread whenever its queue was
// empty. A worker destroys a message per delivery, publish confirmation and KV answer, and at a
// moderate rate nearly every one wakes the collector: in the saga orchestrator at 200 sagas/s
// only cnats' socket reader used more CPU (docs/benchmarks.md). This definition replaces cnats'
// own (the library calls it through its PLT, and the executable's definition comes first). It
// declines every item, so natsMsg_Destroy frees the message in the thread that destroys it, as
// it does for a message never registered with the collector. In cnats 3.4 natsMsg_Destroy is
// its only caller besides the streaming client's stanMsg_Destroy, which fleet does not use.
extern "C" bool natsGC_collect(void* /*item*/) {
  return false;
}
