// The order saga end to end: fleet-worker processes of every demo role against a real
// nats-server, orders placed as OrderPlaced events, outcomes read from the saga state, the
// participants' ledgers and the lifecycle events.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "eventually.hpp"
#include "fleet/broker/jetstream.hpp"
#include "fleet/saga/orchestrator.hpp"
#include "fleet/schemas/codec.hpp"
#include "fleet/schemas/envelope.hpp"
#include "fleet/schemas/events/saga.hpp"
#include "ledger.hpp"
#include "nats_server.hpp"
#include "order_fulfilment/order_summary.hpp"
#include "order_fulfilment/orders.hpp"
#include "process.hpp"
#include "stock.hpp"
#include "worker_process.hpp"

namespace {

using fleet::schemas::OrderPlaced;
using fleet::schemas::SagaLifecycle;
using fleet::test::WorkerProcess;
using namespace std::chrono_literals;

using fleet::test::eventually;

OrderPlaced order(std::string id, std::string sku = "sku-1", std::uint32_t quantity = 1,
                  std::int64_t amount = 1'000, std::string region = "north") {
  return {.order_id = std::move(id),
          .customer_id = "c-1",
          .sku = std::move(sku),
          .quantity = quantity,
          .amount_cents = amount,
          .region = std::move(region)};
}

class Fixture {
 public:
  explicit Fixture(std::vector<std::string> env = {})
      : dir_(fleet::test::make_temp_dir("fleet-saga-test")), env_(std::move(env)) {
    env_.push_back("FLEET_ACK_WAIT_MS=2000");
    env_.push_back("FLEET_BACKOFF_MS=20");
    auto transport = fleet::broker::jetstream::connect({.url = server_.url()});
    REQUIRE(transport.has_value());
    transport_ = std::move(*transport);
  }
  ~Fixture() {
    workers_.clear();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  // `extra_env` for these processes only, after the fixture's.
  void start(const std::string& role, int count = 1, std::vector<std::string> extra_env = {}) {
    auto env = env_;
    env.insert(env.end(), extra_env.begin(), extra_env.end());
    for (int i = 0; i < count; ++i) {
      const auto log = dir_ / (role + std::to_string(workers_.size()) + ".log");
      workers_.push_back(std::make_unique<WorkerProcess>(
          std::vector<std::string>{FLEET_WORKER, "--role", role, "--nats", server_.url()}, env,
          log));
    }
  }
  std::string url() const { return server_.url(); }
  std::filesystem::path dir() const { return dir_; }
  void start_all() {
    for (const char* role : {"orders", "inventory", "payment", "shipping"}) start(role);
  }
  std::string logs() const {
    std::string all;
    for (const auto& w : workers_) all += "--- " + w->describe() + "\n" + w->log();
    return all;
  }

  void place(const OrderPlaced& o) {
    // The stream may not exist before the orders role created it.
    REQUIRE(transport_->ensure_stream({.name = "ORDERS", .subjects = {"orders.>"}}).has_value());
    auto meta = fleet::schemas::new_metadata(std::string(OrderPlaced::type_name));
    meta.ordering_key = o.order_id;
    auto ack = transport_->publish({.subject = "orders.placed",
                                    .headers = fleet::schemas::to_headers(meta),
                                    .body = fleet::schemas::encode(o),
                                    .dedup_id = meta.id},
                                   10s);
    REQUIRE_MESSAGE(ack.has_value(), ack.error().describe());
  }

  std::optional<fleet::saga::SagaState> state(const std::string& id) {
    if (!sagas_) {
      auto kv = transport_->key_value({.name = "saga_order_fulfilment"});
      REQUIRE(kv.has_value());
      sagas_ = std::move(*kv);
    }
    auto state = fleet::saga::load_state(*sagas_, id);
    REQUIRE(state.has_value());
    return *state;
  }
  std::string status(const std::string& id) {
    auto s = state(id);
    return s ? s->status : "";
  }
  void wait_ended(const std::vector<std::string>& ids) {
    REQUIRE_MESSAGE(eventually([&] {
                      for (const auto& id : ids) {
                        auto s = status(id);
                        if (s != "completed" && s != "failed") return false;
                      }
                      return true;
                    }),
                    logs());
  }
  // The inventory's entry for `sku`, as stored.
  fleet::demo::Stock stock(const std::string& sku) {
    auto kv = transport_->key_value({.name = "inventory"});
    REQUIRE(kv.has_value());
    auto entry = (*kv)->get("sku." + fleet::broker::key_token(sku));
    REQUIRE(entry.has_value());
    REQUIRE(entry->has_value());
    auto stock =
        fleet::schemas::decode<fleet::demo::Stock>((*entry)->value, fleet::demo::stock_limits);
    REQUIRE(stock.has_value());
    return *stock;
  }
  fleet::broker::Transport& transport() { return *transport_; }
  std::string ledger(const std::string& bucket, const std::string& id) {
    auto kv = transport_->key_value({.name = bucket});
    REQUIRE(kv.has_value());
    auto entry = (*kv)->get("saga." + fleet::broker::key_token(id));
    REQUIRE(entry.has_value());
    return *entry ? (*entry)->value : "";
  }

  // Every lifecycle event so far (each stream message once), by saga id, in stream order.
  std::map<std::string, std::vector<SagaLifecycle>> lifecycle() {
    if (!lifecycle_reader_) {
      const fleet::broker::ConsumerConfig reader{.stream = "SAGA",
                                                 .durable = "test-lifecycle",
                                                 .filter_subject = "saga.orders.lifecycle.>",
                                                 .max_ack_pending = 10'000};
      REQUIRE(transport_->ensure_consumer(reader).has_value());
      auto sub = transport_->subscribe(reader);
      REQUIRE(sub.has_value());
      lifecycle_reader_ = std::move(*sub);
    }
    for (;;) {
      auto batch = lifecycle_reader_->fetch(500, 300ms);
      REQUIRE(batch.has_value());
      if (batch->empty()) break;
      for (auto& d : *batch) {
        auto event = fleet::schemas::decode<SagaLifecycle>(d.message().body);
        REQUIRE(event.has_value());
        lifecycle_[event->saga_id].push_back(*event);
        in_order_.push_back(*event);
        REQUIRE(d.ack().has_value());
      }
    }
    return lifecycle_;
  }
  // The most sagas running at once, read from the lifecycle stream's order (started .. ended).
  std::size_t most_active() {
    lifecycle();
    std::size_t active = 0, most = 0;
    for (const auto& e : in_order_) {
      if (e.kind == "started") most = std::max(most, ++active);
      if ((e.kind == "completed" || e.kind == "failed") && active > 0) --active;
    }
    return most;
  }

 private:
  fleet::test::NatsServer server_;
  std::filesystem::path dir_;
  std::vector<std::string> env_;
  std::unique_ptr<fleet::broker::Transport> transport_;
  std::unique_ptr<fleet::broker::KeyValue> sagas_;
  std::unique_ptr<fleet::broker::Subscription> lifecycle_reader_;
  std::map<std::string, std::vector<SagaLifecycle>> lifecycle_;
  std::vector<SagaLifecycle> in_order_;
  std::vector<std::unique_ptr<WorkerProcess>> workers_;
};

std::vector<std::string> kinds(const std::vector<SagaLifecycle>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) out.push_back(e.kind);
  return out;
}

}  // namespace

TEST_CASE("orders end as the demo rules say, failed ones compensated in reverse order") {
  Fixture f({"FLEET_DEMO_STOCK=2"});
  f.start_all();
  f.place(order("ok"));
  f.place(order("declined", "sku-3", 1, 60'000));
  f.place(order("refused", "sku-4", 1, 1'000, "antarctica"));
  f.place(order("no-stock", "sku-2", 3));
  f.wait_ended({"ok", "declined", "refused", "no-stock"});

  CHECK(f.status("ok") == "completed");
  CHECK(f.status("declined") == "failed");
  CHECK(f.state("declined")->reason.starts_with("payment: declined"));
  CHECK(f.status("refused") == "failed");
  CHECK(f.state("refused")->reason.starts_with("shipping: refused"));
  CHECK(f.status("no-stock") == "failed");
  CHECK(f.state("no-stock")->reason.starts_with("inventory: out of stock"));

  // What each participant recorded: charges of failed orders refunded, nothing else charged.
  CHECK(f.ledger("payment", "ok") == "done");
  CHECK(f.ledger("shipping", "ok") == "done");
  CHECK(f.ledger("payment", "refused") == "undone");
  CHECK(f.ledger("payment", "declined") == "");
  CHECK(f.ledger("payment", "no-stock") == "");

  const auto events = f.lifecycle();
  CHECK(kinds(events.at("ok")) ==
        std::vector<std::string>{"started", "step.completed", "step.completed", "completed"});
  CHECK(kinds(events.at("refused")) ==
        std::vector<std::string>{"started", "step.completed", "step.completed", "step.failed",
                                 "compensating", "compensated", "failed"});
  CHECK(kinds(events.at("declined")) == std::vector<std::string>{"started", "step.completed",
                                                                 "step.failed", "compensating",
                                                                 "compensated", "failed"});
  CHECK(kinds(events.at("no-stock")) ==
        std::vector<std::string>{"started", "step.failed", "failed"});
}

TEST_CASE("orders whose id and SKU hold characters no NATS key may hold end like any other") {
  Fixture f({"FLEET_DEMO_STOCK=5"});
  f.start_all();
  const std::string completes = "web.2026/11 #7 > *";
  const std::string refused = "web.2026/11 #8";
  f.place(order(completes, "sku.red shirt*"));
  f.place(order(refused, "sku.red shirt*", 1, 1'000, "antarctica"));
  f.wait_ended({completes, refused});

  CHECK(f.status(completes) == "completed");
  CHECK(f.ledger("payment", completes) == "done");
  CHECK(f.ledger("shipping", completes) == "done");
  CHECK(f.status(refused) == "failed");
  CHECK(f.state(refused)->reason.starts_with("shipping: refused"));
  CHECK(f.ledger("payment", refused) == "undone");
  // One entry for the SKU: the completed order's unit sold, the refused order's given back.
  CHECK(f.stock("sku.red shirt*").left == 5 - 1);
}

TEST_CASE(
    "a charge whose ledger write is staged is recorded once; one that arrives after its refund "
    "is refused, not recorded") {
  Fixture f;
  auto opened = f.transport().key_value({.name = "payment"});
  REQUIRE(opened.has_value());
  std::shared_ptr<fleet::broker::KeyValue> bucket(std::move(*opened));
  fleet::demo::StagedLedger ledger(bucket);
  // Handles one command as the payment role does: stages "done", stores the staged write.
  auto handle = [&](const std::string& id, std::uint64_t attempt) {
    fleet::runtime::Context context({}, attempt, "payment");
    auto done = ledger.do_step(context, "saga." + id);
    REQUIRE(done.has_value());
    std::optional<fleet::Status> stored;
    for (auto& write : context.take_writes()) {
      std::promise<fleet::Status> answer;
      REQUIRE(write
                  .start([&](const fleet::Result<std::uint64_t>& revision) {
                    answer.set_value(revision ? fleet::Status{}
                                              : fleet::Status{fleet::fail(revision.error())});
                  })
                  .has_value());
      stored = answer.get_future().get();
    }
    return std::pair{*done, stored};
  };

  auto [charged, stored] = handle("paid", 1);
  CHECK(charged == fleet::demo::LedgerDo::done);
  REQUIRE(stored.has_value());
  CHECK(stored->has_value());
  CHECK(f.ledger("payment", "paid") == "done");
  // A redelivered charge reads the ledger: done already, nothing staged.
  auto [again, none] = handle("paid", 2);
  CHECK(again == fleet::demo::LedgerDo::already_done);
  CHECK_FALSE(none.has_value());

  // The refund came first (the step had timed out); the charge's staged write conflicts, and
  // handled again the charge is refused.
  REQUIRE(fleet::demo::ledger_undo(*bucket, "saga.late").has_value());
  auto [late, conflict] = handle("late", 1);
  REQUIRE(conflict.has_value());
  CHECK(conflict->error().code == fleet::Errc::conflict);
  auto [refused, nothing] = handle("late", 1);
  CHECK(refused == fleet::demo::LedgerDo::refused_undone);
  CHECK_FALSE(nothing.has_value());
  CHECK(f.ledger("payment", "late") == "undone");
}

TEST_CASE("a step that times out is compensated, and its late effect is undone too") {
  Fixture f({"FLEET_DEMO_STEP_TIMEOUT_MS=1500"});
  for (const char* role : {"orders", "inventory", "payment"}) f.start(role);
  // Shipping takes its command at once and works on it for 3 s: longer than the step may take.
  f.start("shipping", 1, {"FLEET_DEMO_STEP_WORK_MS=3000"});
  f.place(order("slow-ship"));
  REQUIRE_MESSAGE(eventually([&] {
                    auto s = f.state("slow-ship");
                    return s && s->status == "compensating";
                  }),
                  f.logs());
  CHECK(f.state("slow-ship")->reason == "shipping: timed out");

  // Shipping finishes late (its "done" reply is ignored), then cancels.
  f.wait_ended({"slow-ship"});
  CHECK(f.status("slow-ship") == "failed");
  CHECK(f.ledger("shipping", "slow-ship") == "undone");
  CHECK(f.ledger("payment", "slow-ship") == "undone");
  CHECK(kinds(f.lifecycle().at("slow-ship")) ==
        std::vector<std::string>{"started", "step.completed", "step.completed", "step.failed",
                                 "compensating", "compensated", "failed"});
}

TEST_CASE("a step whose command waits for a participant does not time out; the saga completes") {
  // The step may take 1.5 s once shipping has the command; no shipping process runs for 4 s.
  Fixture f({"FLEET_DEMO_STEP_TIMEOUT_MS=1500"});
  for (const char* role : {"orders", "inventory", "payment"}) f.start(role);
  f.place(order("queued-ship"));
  REQUIRE_MESSAGE(eventually([&] {
                    auto s = f.state("queued-ship");
                    return s && s->step == 2;
                  }),
                  f.logs());
  std::this_thread::sleep_for(4s);
  CHECK(f.status("queued-ship") == "running");

  f.start("shipping");
  f.wait_ended({"queued-ship"});
  CHECK(f.status("queued-ship") == "completed");
  CHECK(f.state("queued-ship")->reason == "");
  CHECK(f.ledger("shipping", "queued-ship") == "done");
  CHECK(kinds(f.lifecycle().at("queued-ship")) ==
        std::vector<std::string>{"started", "step.completed", "step.completed", "completed"});
}

TEST_CASE("a step whose command no participant takes within its start timeout is compensated") {
  Fixture f({"FLEET_DEMO_STEP_TIMEOUT_MS=1000", "FLEET_DEMO_STEP_START_TIMEOUT_MS=3000"});
  for (const char* role : {"orders", "inventory", "payment"}) f.start(role);  // no shipping
  f.place(order("unshipped"));
  REQUIRE_MESSAGE(eventually([&] {
                    auto s = f.state("unshipped");
                    return s && s->status == "compensating";
                  }),
                  f.logs());
  CHECK(f.state("unshipped")->reason == "shipping: not taken by a participant within 3000 ms");

  // Shipping comes up late: it schedules (its "done" reply is ignored), then cancels.
  f.start("shipping");
  f.wait_ended({"unshipped"});
  CHECK(f.status("unshipped") == "failed");
  CHECK(f.ledger("shipping", "unshipped") == "undone");
  CHECK(f.ledger("payment", "unshipped") == "undone");
}

TEST_CASE("two orchestrator processes on the same sagas never corrupt state") {
  Fixture f;
  f.start("orders", 2);
  for (const char* role : {"inventory", "payment", "shipping"}) f.start(role, 2);
  std::vector<std::string> ids;
  for (int i = 0; i < 300; ++i) {
    ids.push_back("o-" + std::to_string(i));
    f.place(order(ids.back(), "sku-" + std::to_string(i % 7), 1, i % 10 == 0 ? 90'000 : 500));
  }
  f.wait_ended(ids);
  const auto events = f.lifecycle();
  for (const auto& id : ids) {
    CAPTURE(id);
    const auto state = f.state(id);
    REQUIRE(state.has_value());
    CHECK(state->status == (id.ends_with("0") ? "failed" : "completed"));
    // Every lifecycle version exactly once and in order: no lost or doubled transition.
    std::vector<std::uint64_t> versions;
    for (const auto& e : events.at(id)) versions.push_back(e.version);
    std::vector<std::uint64_t> expected(state->version);
    for (std::uint64_t v = 0; v < state->version; ++v) expected[v] = v + 1;
    CHECK(versions == expected);
  }
}

TEST_CASE("the order_summary read model matches the sagas, and a rebuild reproduces it") {
  Fixture f;
  const auto live = (f.dir() / "live.db").string();
  const auto rebuilt = (f.dir() / "rebuilt.db").string();
  // The fixture's environment is fixed at construction; the projection gets its path here.
  setenv("FLEET_ORDER_SUMMARY_DB", live.c_str(), 1);
  f.start_all();
  f.start("order_summary");
  unsetenv("FLEET_ORDER_SUMMARY_DB");
  std::vector<std::string> ids;
  for (int i = 0; i < 40; ++i) {
    ids.push_back("p-" + std::to_string(i));
    f.place(order(ids.back(), "sku-1", 1, i % 4 == 0 ? 70'000 : 800));
  }
  f.wait_ended(ids);

  auto summary = fleet::projection::OrderSummary::open(live);
  REQUIRE(summary.has_value());
  auto terminal = [&](fleet::projection::OrderSummary& model) {
    auto rows = model.query({});
    REQUIRE(rows.has_value());
    return std::count_if(rows->begin(), rows->end(), [](const auto& r) {
             return r.status == "completed" || r.status == "failed";
           }) == static_cast<long>(ids.size());
  };
  REQUIRE_MESSAGE(eventually([&] { return terminal(*summary); }), f.logs());
  for (const auto& id : ids) {
    auto row = summary->query({.order_id = id});
    REQUIRE(row.has_value());
    REQUIRE(row->size() == 1);
    CHECK(row->front().status == f.status(id));
    CHECK(row->front().version == f.state(id)->version);
  }

  auto rebuild = fleet::test::run(
      {FLEET_DEMO, "projection", "rebuild", "order_summary", "--db", rebuilt, "--nats", f.url()});
  REQUIRE_MESSAGE(rebuild.exit_code == 0, rebuild.err);
  auto again = fleet::projection::OrderSummary::open(rebuilt);
  REQUIRE(again.has_value());
  CHECK(*again->query({}) == *summary->query({}));

  auto failed =
      fleet::test::run({FLEET_DEMO, "orders", "--db", rebuilt, "--status", "failed", "--json"});
  REQUIRE(failed.exit_code == 0);
  CHECK(nlohmann::json::parse(failed.out).size() == 10);  // the 10 orders above the limit
}

TEST_CASE("fleet-demo projection rebuild --json reports the events read, applied and skipped") {
  Fixture f;  // no workers: the lifecycle events are published here
  auto transport = fleet::broker::jetstream::connect({.url = f.url()});
  REQUIRE(transport.has_value());
  REQUIRE((*transport)->ensure_stream({.name = "SAGA", .subjects = {"saga.>"}}).has_value());
  const std::string body = fleet::schemas::encode(order("j-1"));
  auto publish = [&](std::uint64_t version, const std::string& status) {
    const SagaLifecycle event{.saga_id = "j-1",
                              .saga = "orders",
                              .kind = version == 1 ? "started" : "completed",
                              .status = status,
                              .version = version,
                              .started_at = "2026-11-25T08:00:00.000Z",
                              .data = std::vector<char>(body.begin(), body.end())};
    auto meta = fleet::schemas::new_metadata(std::string(SagaLifecycle::type_name));
    auto ack = (*transport)
                   ->publish({.subject = "saga.orders.lifecycle.j-1",
                              .headers = fleet::schemas::to_headers(meta),
                              .body = fleet::schemas::encode(event),
                              .dedup_id = meta.id},
                             10s);
    REQUIRE_MESSAGE(ack.has_value(), ack.error().describe());
  };
  publish(1, "running");
  publish(2, "completed");
  publish(1, "running");  // a duplicate of an older version: read, not applied

  const auto db = (f.dir() / "rebuilt.db").string();
  auto rebuild = fleet::test::run({FLEET_DEMO, "projection", "rebuild", "order_summary", "--db", db,
                                   "--nats", f.url(), "--json"});
  REQUIRE_MESSAGE(rebuild.exit_code == 0, rebuild.err);
  const auto report = nlohmann::json::parse(rebuild.out);
  CHECK(report == nlohmann::json{{"read_model", "order_summary"},
                                 {"db", db},
                                 {"events", 3},
                                 {"applied", 2},
                                 {"skipped", 1},
                                 {"orders", 1}});
}

// ---- Schema evolution: events written by older (and newer) code in the same streams. ----

namespace {

// OrderPlaced as the code wrote it before `currency` existed: the key is absent, not nil.
struct OrderPlacedBeforeCurrency {
  static constexpr std::string_view type_name = "orders.OrderPlaced";
  static constexpr std::uint32_t schema_version = 1;
  std::string order_id;
  std::string customer_id;
  std::string sku;
  std::uint32_t quantity = 0;
  std::int64_t amount_cents = 0;
  std::string region;
  MSGPACK_DEFINE_MAP(order_id, customer_id, sku, quantity, amount_cents, region);
};

std::string golden_order() {
  std::ifstream in(std::filesystem::path(FLEET_GOLDEN_DIR) / "orders.OrderPlaced" / "v1.msgpack",
                   std::ios::binary);
  REQUIRE(in.good());
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Publishes a raw OrderPlaced body stamped with `version`, as a producer of that version would.
void place_body(const std::string& url, const std::string& order_id, const std::string& body,
                std::uint32_t version) {
  auto transport = fleet::broker::jetstream::connect({.url = url});
  REQUIRE(transport.has_value());
  REQUIRE((*transport)->ensure_stream({.name = "ORDERS", .subjects = {"orders.>"}}).has_value());
  auto meta = fleet::schemas::new_metadata(std::string(OrderPlaced::type_name), version);
  meta.ordering_key = order_id;
  auto ack = (*transport)
                 ->publish({.subject = "orders.placed",
                            .headers = fleet::schemas::to_headers(meta),
                            .body = body,
                            .dedup_id = meta.id},
                           10s);
  REQUIRE_MESSAGE(ack.has_value(), ack.error().describe());
}

}  // namespace

TEST_CASE(
    "orders written before currency existed run the full saga next to new ones, and a "
    "rebuild over both shapes gives the live read model") {
  Fixture f;
  const auto live = (f.dir() / "live.db").string();
  const auto rebuilt = (f.dir() / "rebuilt.db").string();
  setenv("FLEET_ORDER_SUMMARY_DB", live.c_str(), 1);
  f.start_all();
  f.start("order_summary");
  unsetenv("FLEET_ORDER_SUMMARY_DB");

  // The golden file: bytes encoded by the code of before `currency`.
  place_body(f.url(), "o-golden-1", golden_order(), 1);
  std::vector<std::string> ids{"o-golden-1"};
  for (int i = 0; i < 20; ++i) {
    const std::string id = "mixed-" + std::to_string(i);
    const std::int64_t amount = i % 5 == 0 ? 70'000 : 900;  // every fifth is declined
    ids.push_back(id);
    if (i % 2 == 0) {
      place_body(f.url(), id,
                 fleet::schemas::encode(OrderPlacedBeforeCurrency{.order_id = id,
                                                                  .customer_id = "c-old",
                                                                  .sku = "sku-1",
                                                                  .quantity = 1,
                                                                  .amount_cents = amount,
                                                                  .region = "north"}),
                 1);
    } else {
      auto o = order(id, "sku-1", 1, amount);
      o.currency = "EUR";
      f.place(o);
    }
  }
  f.wait_ended(ids);
  CHECK(f.status("o-golden-1") == "completed");
  CHECK(f.ledger("payment", "o-golden-1") == "done");
  CHECK(f.ledger("shipping", "o-golden-1") == "done");
  for (int i = 0; i < 20; ++i) {
    CHECK(f.status("mixed-" + std::to_string(i)) == (i % 5 == 0 ? "failed" : "completed"));
  }

  auto summary = fleet::projection::OrderSummary::open(live);
  REQUIRE(summary.has_value());
  REQUIRE_MESSAGE(eventually([&] {
                    auto rows = summary->query({});
                    REQUIRE(rows.has_value());
                    return std::count_if(rows->begin(), rows->end(), [](const auto& r) {
                             return r.status == "completed" || r.status == "failed";
                           }) == static_cast<long>(ids.size());
                  }),
                  f.logs());
  auto golden = summary->query({.order_id = "o-golden-1"});
  REQUIRE(golden.has_value());
  REQUIRE(golden->size() == 1);
  CHECK(golden->front().customer_id == "c-7");
  CHECK(golden->front().amount_cents == 4599);

  auto rebuild = fleet::test::run(
      {FLEET_DEMO, "projection", "rebuild", "order_summary", "--db", rebuilt, "--nats", f.url()});
  REQUIRE_MESSAGE(rebuild.exit_code == 0, rebuild.err);
  auto again = fleet::projection::OrderSummary::open(rebuilt);
  REQUIRE(again.has_value());
  CHECK(*again->query({}) == *summary->query({}));
}

TEST_CASE(
    "an OrderPlaced of a schema version newer than the workers know is dead-lettered with "
    "the reason, and no saga starts") {
  Fixture f;
  f.start("orders");
  place_body(f.url(), "o-golden-1", golden_order(), 2);

  nlohmann::json entries;
  REQUIRE_MESSAGE(eventually([&] {
                    auto listed = fleet::test::run({FLEET_DEMO, "dlq", "list", "--json", "--nats",
                                                    f.url(), "--stream", "DLQ"});
                    if (listed.exit_code != 0) return false;
                    entries = nlohmann::json::parse(listed.out);
                    return entries.size() == 1;
                  }),
                  f.logs());
  const auto& entry = entries[0];
  CHECK(entry["type"] == "orders.OrderPlaced");
  CHECK(entry["schema_version"] == 2);
  CHECK(entry["error_class"] == "decode");
  CHECK(entry["error_message"] ==
        "orders.OrderPlaced: schema version 2 is newer than this worker's 1");
  CHECK(entry["attempts"] == 1);  // permanent: never retried

  auto shown = fleet::test::run({FLEET_DEMO, "dlq", "show", std::to_string(entry["seq"].get<int>()),
                                 "--json", "--nats", f.url(), "--stream", "DLQ"});
  REQUIRE_MESSAGE(shown.exit_code == 0, shown.err);
  const auto letter = nlohmann::json::parse(shown.out);
  CHECK(letter["schema"]["version"] == 2);
  CHECK(letter["schema"]["current"] == 1);
  CHECK(letter["schema"]["error"] ==
        "orders.OrderPlaced: schema version 2 is newer than this worker's 1");
  CHECK(letter.contains("payload_hex"));  // not rendered as if it were version 1
  CHECK_FALSE(f.state("o-golden-1").has_value());
}

TEST_CASE("under overload sagas wait to start, and none times out while queued") {
  // Slow participants (40 ms per command, one lane each) and 150 orders at once: queued behind
  // each other, the last commands would wait about 6 s for a step that may take 3 s. With room
  // for 3 active sagas, starts wait in the stream instead and every step runs promptly.
  Fixture f({"FLEET_MAX_ACTIVE_SAGAS=3", "FLEET_CONCURRENCY=1", "FLEET_DEMO_STEP_WORK_MS=40",
             "FLEET_DEMO_STEP_TIMEOUT_MS=3000"});
  f.start_all();
  std::vector<std::string> ids;
  for (int i = 0; i < 150; ++i) {
    ids.push_back("busy-" + std::to_string(i));
    f.place(order(ids.back(), "sku-" + std::to_string(i % 5)));
  }
  f.wait_ended(ids);
  for (const auto& id : ids) {
    CAPTURE(id);
    const auto state = f.state(id);
    REQUIRE(state.has_value());
    CHECK(state->reason == "");
    CHECK(state->status == "completed");
  }
  // The cap holds: at most the cap plus the starts already fetched (the binding keeps that
  // within the cap too) run at once.
  CHECK(f.most_active() <= 6);
}

// Stock holds, held in two generations (examples/order_fulfilment/roles/stock.hpp).
std::set<std::string> remembered(const fleet::demo::Stock& stock) {
  std::set<std::string> ids;
  for (const auto& [id, quantity] : stock.holds) ids.insert(id);
  for (const auto& [id, quantity] : stock.older) ids.insert(id);
  return ids;
}

TEST_CASE("a stock hold is remembered for at least its retention after its last change") {
  fleet::demo::Stock stock{.left = 10};
  stock.age(1'000, 100);  // an entry written before holds aged starts a period
  stock.set_hold("a", 2);
  stock.age(1'050, 100);
  CHECK(stock.hold("a") != nullptr);
  stock.age(1'100, 100);  // a's period is over: it is the older generation now
  REQUIRE(stock.hold("a") != nullptr);
  CHECK(*stock.hold("a") == 2);
  stock.set_hold("b", 1);
  stock.set_hold("a", 0);  // a release moves the hold into the current period
  stock.age(1'200, 100);
  CHECK(remembered(stock) == std::set<std::string>{"a", "b"});
  stock.age(1'300, 100);
  CHECK(remembered(stock).empty());
  CHECK(stock.left == 10);  // forgetting a hold gives nothing back
}

TEST_CASE("a stock entry with more holds than an event's decode bound allows still reads") {
  fleet::demo::Stock stock{.left = 1};
  for (int i = 0; i < 1'500; ++i) stock.set_hold("order-" + std::to_string(i), 1);
  const auto bytes = fleet::schemas::encode(stock);
  CHECK_FALSE(fleet::schemas::decode<fleet::demo::Stock>(bytes).has_value());  // 1,000 pairs
  auto read = fleet::schemas::decode<fleet::demo::Stock>(bytes, fleet::demo::stock_limits);
  REQUIRE(read.has_value());
  CHECK(read->holds.size() == 1'500);
}

TEST_CASE("inventory forgets old holds, so a SKU's entry stays bounded; sold stock stays sold") {
  Fixture f({"FLEET_DEMO_HOLD_RETENTION_MS=300", "FLEET_DEMO_STOCK=100"});
  f.start_all();
  std::vector<std::string> early;
  for (int i = 0; i < 5; ++i) {
    early.push_back("early-" + std::to_string(i));
    f.place(order(early.back(), "sku-7", 2));
  }
  f.wait_ended(early);
  CHECK(f.stock("sku-7").left == 100 - 5 * 2);
  // Two later writes, each more than a retention period after the one before: the early holds'
  // generation ends with the first and is forgotten with the second.
  std::this_thread::sleep_for(400ms);
  f.place(order("late-1", "sku-7", 1));
  f.wait_ended({"late-1"});
  std::this_thread::sleep_for(400ms);
  f.place(order("late-2", "sku-7", 1));
  f.wait_ended({"late-2"});

  const auto stock = f.stock("sku-7");
  CHECK(remembered(stock) == std::set<std::string>{"late-1", "late-2"});
  CHECK(stock.left == 100 - 5 * 2 - 2);
  for (const auto& id : early) CHECK(f.status(id) == "completed");
  CHECK(f.status("late-2") == "completed");
}
