// outbox and outbox-pg: the relay draining N committed outbox rows to JetStream (claim, publish
// with dedup id, wait for acks, mark sent) against a raw cnats loop async-publishing the same N
// events from memory. Appending the rows is set-up, not timed.
#include <atomic>
#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <string>

#include "common.hpp"
#include "fleet/outbox/postgres.hpp"
#include "fleet/outbox/relay.hpp"
#include "fleet/outbox/sqlite.hpp"
#include "fleet/outbox/subject.hpp"
#include "fleet/schemas/envelope.hpp"
#include "raw_nats.hpp"

namespace fleet::bench {
namespace {

const std::string subject = "domain.bench.OrderPlaced";

outbox::OutboxEvent bench_event(const Workload& work) {
  return {
      .subject = subject, .meta = schemas::new_metadata("bench.OrderPlaced"), .body = work.payload};
}

void check(const Status& status, const char* what) {
  if (!status) throw std::runtime_error(std::string(what) + ": " + status.error().describe());
}

// --- set-up: N committed rows ------------------------------------------------------------------

void fill_sqlite(const std::string& path, const Options& options, const Workload& work) {
  auto db = outbox::sqlite::open_database(path);
  if (!db) throw std::runtime_error(db.error().describe());
  auto appender = outbox::sqlite::Outbox::open(db->get());
  if (!appender) throw std::runtime_error(appender.error().describe());
  check(sql::sqlite::exec(db->get(), "BEGIN"), "begin");
  for (std::uint64_t i = 0; i < options.count; ++i)
    check(appender->append(bench_event(work)), "append");
  check(sql::sqlite::exec(db->get(), "COMMIT"), "commit");
}

void pg_exec(PGconn* conn, const char* statement) {
  check(sql::postgres::script(conn, statement, statement), statement);
}

void fill_postgres(const std::string& url, const Options& options, const Workload& work) {
  auto conn = outbox::postgres::connect(url);
  if (!conn) throw std::runtime_error(conn.error().describe());
  auto appender = outbox::postgres::Outbox::open(conn->get());
  if (!appender) throw std::runtime_error(appender.error().describe());
  // Rows of earlier rounds are gone, so every round drains the same amount of work.
  pg_exec(conn->get(), "TRUNCATE fleet_outbox");
  pg_exec(conn->get(), "BEGIN");
  for (std::uint64_t i = 0; i < options.count; ++i)
    check(appender->append(bench_event(work)), "append");
  pg_exec(conn->get(), "COMMIT");
  pg_exec(conn->get(), "VACUUM ANALYZE fleet_outbox");
}

// --- the two sides ---------------------------------------------------------------------------

double relay_drain(const Options& options, const std::string& store_url) {
  auto store = outbox::open_store(store_url);
  if (!store) throw std::runtime_error(store.error().describe());
  auto transport = connect(options);
  outbox::Relay relay(**store, *transport, {.batches_in_flight = options.batches_in_flight});
  double rate = timed(options.count, [&] { check(relay.run_until_idle(), "relay"); });
  if (relay.stats().published != options.count) {
    throw std::runtime_error("relay published " + std::to_string(relay.stats().published) + " of " +
                             std::to_string(options.count));
  }
  return rate;
}

void raw_ack_handler(jsCtx*, natsMsg* msg, jsPubAck*, jsPubAckErr* error, void* closure) {
  auto* acked = static_cast<std::atomic<std::uint64_t>*>(closure);
  if (error == nullptr) acked->fetch_add(1, std::memory_order_relaxed);
  natsMsg_Destroy(msg);
}

// The same events (subject, envelope headers, body, a fresh id as Nats-Msg-Id) published from
// memory with js_PublishMsgAsync and all acks awaited.
double raw_publish(const Options& options, const Workload& work) {
  std::vector<outbox::OutboxEvent> events;
  events.reserve(options.count);
  for (std::uint64_t i = 0; i < options.count; ++i) events.push_back(bench_event(work));
  std::vector<Headers> headers;
  headers.reserve(events.size());
  for (const auto& e : events) headers.push_back(schemas::to_headers(e.meta));

  std::atomic<std::uint64_t> acked{0};
  auto nc = raw::connect(options.url);
  jsOptions js_options;
  jsOptions_Init(&js_options);
  js_options.PublishAsync.MaxPending = options.max_in_flight;
  js_options.PublishAsync.AckHandler = raw_ack_handler;
  js_options.PublishAsync.AckHandlerClosure = &acked;
  auto js = raw::jetstream(nc.get(), &js_options);
  double rate = timed(options.count, [&] {
    for (std::size_t i = 0; i < events.size(); ++i) {
      natsMsg* msg = nullptr;
      raw::check(natsMsg_Create(&msg, subject.c_str(), nullptr, events[i].body.data(),
                                static_cast<int>(events[i].body.size())),
                 "msg");
      for (const auto& [name, value] : headers[i]) {
        natsMsgHeader_Set(msg, name.c_str(), value.c_str());
      }
      jsPubOptions pub;
      jsPubOptions_Init(&pub);
      pub.MsgId = events[i].meta.id.c_str();
      if (js_PublishMsgAsync(js.get(), &msg, &pub) != NATS_OK) natsMsg_Destroy(msg);
    }
    jsPubOptions wait;
    jsPubOptions_Init(&wait);
    wait.MaxWait = 60'000;
    raw::check(js_PublishAsyncComplete(js.get(), &wait), "complete");
  });
  if (acked.load() != options.count) throw std::runtime_error("raw publish lost acks");
  return rate;
}

}  // namespace

void bench_outbox(const Options& options) {
  auto admin = connect(options);
  ensure_stream(*admin, "BENCH_OUTBOX", "domain.bench.>");
  const auto work = make_workload(options);
  const auto dir = std::filesystem::temp_directory_path() / "fleet-bench-outbox";
  std::filesystem::create_directories(dir);
  compare(
      "outbox sqlite", options, [&](int) { return raw_publish(options, work); },
      [&](int round) {
        const auto path = (dir / ("round" + std::to_string(round) + ".db")).string();
        std::filesystem::remove(path);
        std::filesystem::remove(path + "-wal");
        std::filesystem::remove(path + "-shm");
        fill_sqlite(path, options, work);
        return relay_drain(options, "sqlite:" + path);
      });
  std::filesystem::remove_all(dir);
}

void bench_outbox_pg(const Options& options) {
  if (options.pg.empty()) throw std::runtime_error("outbox-pg needs --pg URL");
  auto admin = connect(options);
  ensure_stream(*admin, "BENCH_OUTBOX", "domain.bench.>");
  const auto work = make_workload(options);
  compare(
      "outbox postgres", options, [&](int) { return raw_publish(options, work); },
      [&](int) {
        fill_postgres(options.pg, options, work);
        return relay_drain(options, options.pg);
      });
}

}  // namespace fleet::bench
