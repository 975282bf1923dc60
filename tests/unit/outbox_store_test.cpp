// The SQLite outbox and its store without a broker: what a transaction leaves behind, leases,
// attempts and flagging, cleanup, re-queueing, and the subject helper.
#include <doctest/doctest.h>

#include <filesystem>
#include <string>

#include "fleet/outbox/sqlite.hpp"
#include "fleet/outbox/store.hpp"
#include "fleet/outbox/subject.hpp"
#include "fleet/schemas/envelope.hpp"

namespace ob = fleet::outbox;
using namespace std::chrono_literals;

namespace {

// A fresh database file per test, removed afterwards.
struct TempDb {
  std::filesystem::path dir;
  TempDb() {
    std::string pattern = (std::filesystem::temp_directory_path() / "fleet-outbox-XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    dir = pattern;
  }
  ~TempDb() {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
  std::string path() const { return (dir / "app.db").string(); }
  std::string url() const { return "sqlite:" + path(); }
};

ob::OutboxEvent event(const std::string& name = "OrderPlaced") {
  return {.subject = *ob::domain_subject("orders", name),
          .meta = fleet::schemas::new_metadata("orders." + name),
          .body = std::string("\x81\xa1k\x01", 4)};
}

void exec(sqlite3* db, const char* sql) {
  auto ok = fleet::sql::sqlite::exec(db, sql);
  REQUIRE_MESSAGE(ok.has_value(), ok.error().describe());
}

// Appends `count` events in one committed transaction; returns their ids.
std::vector<std::string> append_committed(sqlite3* db, int count) {
  auto outbox = ob::sqlite::Outbox::open(db);
  REQUIRE(outbox.has_value());
  std::vector<std::string> ids;
  exec(db, "BEGIN");
  for (int i = 0; i < count; ++i) {
    auto e = event();
    ids.push_back(e.meta.id);
    REQUIRE(outbox->append(e).has_value());
  }
  exec(db, "COMMIT");
  return ids;
}

std::unique_ptr<ob::OutboxStore> store_of(const TempDb& temp) {
  auto store = ob::open_store(temp.url());
  REQUIRE(store.has_value());
  return std::move(*store);
}

const ob::TimePoint t0 = ob::TimePoint(std::chrono::milliseconds(1'700'000'000'000));

}  // namespace

TEST_CASE("domain_subject builds domain.{domain}.{EventName} and refuses tokens that change it") {
  CHECK(*ob::domain_subject("orders", "OrderPlaced") == "domain.orders.OrderPlaced");
  CHECK_FALSE(ob::domain_subject("", "OrderPlaced").has_value());
  CHECK_FALSE(ob::domain_subject("orders", "").has_value());
  CHECK_FALSE(ob::domain_subject("or.ders", "OrderPlaced").has_value());
  CHECK_FALSE(ob::domain_subject("orders", "Order*").has_value());
  CHECK_FALSE(ob::domain_subject("orders", ">").has_value());
  CHECK_FALSE(ob::domain_subject("orders", "Order Placed").has_value());
  CHECK(ob::domain_subject("orders", "x.y").error().code == fleet::Errc::invalid_argument);
}

TEST_CASE("the outbox schema is created on first use and each migration is recorded once") {
  TempDb temp;
  auto db = ob::sqlite::open_database(temp.path());
  REQUIRE(db.has_value());
  REQUIRE(ob::sqlite::Outbox::open(db->get()).has_value());
  REQUIRE(ob::sqlite::Outbox::open(db->get()).has_value());
  auto store = store_of(temp);  // a second connection migrating the same file
  auto stmt = fleet::sql::sqlite::prepare(
      db->get(), "SELECT count(*), max(version) FROM fleet_outbox_schema_version");
  REQUIRE(stmt.has_value());
  fleet::sql::sqlite::Query query(stmt->get());
  REQUIRE(query.step("read schema versions").value_or(false));
  CHECK(query.int64(0) == 2);
  CHECK(query.int64(1) == 2);
}

TEST_CASE("a rolled-back transaction leaves nothing to relay") {
  TempDb temp;
  auto db = ob::sqlite::open_database(temp.path());
  REQUIRE(db.has_value());
  auto outbox = ob::sqlite::Outbox::open(db->get());
  REQUIRE(outbox.has_value());
  exec(db->get(), "CREATE TABLE orders (id TEXT)");
  exec(db->get(), "BEGIN");
  exec(db->get(), "INSERT INTO orders VALUES ('o-1')");
  REQUIRE(outbox->append(event()).has_value());
  exec(db->get(), "ROLLBACK");

  auto store = store_of(temp);
  CHECK(store->counts()->pending == 0);
  CHECK(store->claim(100, t0, 60s)->empty());
}

TEST_CASE("a committed event is claimed with the envelope headers and its id as dedup id") {
  TempDb temp;
  auto db = ob::sqlite::open_database(temp.path());
  REQUIRE(db.has_value());
  auto outbox = ob::sqlite::Outbox::open(db->get());
  REQUIRE(outbox.has_value());
  auto e = event();
  e.meta.ordering_key = "o-1";
  exec(db->get(), "BEGIN");
  REQUIRE(outbox->append(e).has_value());
  exec(db->get(), "COMMIT");

  auto store = store_of(temp);
  auto claimed = store->claim(100, t0, 60s);
  REQUIRE(claimed.has_value());
  REQUIRE(claimed->size() == 1);
  const auto& message = claimed->front().message;
  CHECK(message.subject == "domain.orders.OrderPlaced");
  CHECK(message.dedup_id == e.meta.id);
  CHECK(message.headers == fleet::schemas::to_headers(e.meta));
  CHECK(message.body == e.body);
}

TEST_CASE("an event without subject or id is refused before it reaches the table") {
  TempDb temp;
  auto db = ob::sqlite::open_database(temp.path());
  auto outbox = ob::sqlite::Outbox::open(db->get());
  REQUIRE(outbox.has_value());
  auto no_subject = event();
  no_subject.subject.clear();
  CHECK(outbox->append(no_subject).error().code == fleet::Errc::invalid_argument);
  auto no_id = event();
  no_id.meta.id.clear();
  CHECK(outbox->append(no_id).error().code == fleet::Errc::invalid_argument);
}

TEST_CASE("claimed rows come in id order and are not handed out again until settled") {
  TempDb temp;
  auto db = ob::sqlite::open_database(temp.path());
  auto ids = append_committed(db->get(), 5);
  auto store = store_of(temp);
  auto first = store->claim(3, t0, 60s);
  REQUIRE(first->size() == 3);
  CHECK(first->at(0).message.dedup_id == ids[0]);
  CHECK(first->at(2).message.dedup_id == ids[2]);
  auto second = store->claim(100, t0, 60s);
  REQUIRE(second->size() == 2);
  CHECK(second->at(0).message.dedup_id == ids[3]);
  CHECK(store->claim(100, t0, 60s)->empty());
  const std::int64_t sent = first->at(0).row;
  REQUIRE(store->mark_sent({&sent, 1}, t0).has_value());
  const ob::Failure away{.row = first->at(1).row, .error = "unavailable", .counts = false};
  REQUIRE(store->record_failures({&away, 1}, t0, t0, 3).has_value());
  auto again = store->claim(100, t0, 60s);
  REQUIRE(again->size() == 1);  // the failed one; the sent one is done
  CHECK(again->front().message.dedup_id == ids[1]);
}

TEST_CASE("a second relay on one SQLite file stands by until the active relay's lease ends") {
  TempDb temp;
  auto db = ob::sqlite::open_database(temp.path());
  append_committed(db->get(), 3);
  auto active = store_of(temp), standby = store_of(temp);
  CHECK(active->claim(1, t0, 60s)->size() == 1);
  CHECK(standby->claim(100, t0 + 59s, 60s)->empty());
  // The active relay died without settling: after its lease the standby takes every unsent row.
  CHECK(standby->claim(100, t0 + 60s, 60s)->size() == 3);
  CHECK(active->claim(100, t0 + 61s, 60s)->empty());
}

TEST_CASE("a row is flagged after max attempts; failures while the broker is away do not count") {
  TempDb temp;
  auto db = ob::sqlite::open_database(temp.path());
  append_committed(db->get(), 1);
  auto store = store_of(temp);
  auto row = store->claim(1, t0, 60s)->front().row;

  const ob::Failure away{.row = row, .error = "unavailable", .counts = false};
  for (int i = 0; i < 5; ++i) {
    CHECK(store->record_failures({&away, 1}, t0, t0, 3)->empty());
  }
  const ob::Failure refused{.row = row, .error = "rejected: no stream", .counts = true};
  CHECK(store->record_failures({&refused, 1}, t0, t0 + 1s, 3)->empty());
  CHECK(store->claim(1, t0, 60s)->empty());  // waits for its retry time
  CHECK(store->claim(1, t0 + 1s, 60s)->front().attempts == 1);
  CHECK(store->record_failures({&refused, 1}, t0, t0, 3)->empty());
  auto flagged = store->record_failures({&refused, 1}, t0, t0, 3);
  REQUIRE(flagged->size() == 1);
  CHECK(flagged->front().attempts == 3);
  CHECK(flagged->front().last_error == "rejected: no stream");

  auto counts = store->counts();
  CHECK(counts->pending == 0);
  CHECK(counts->flagged == 1);
  CHECK(store->claim(1, t0 + 1h, 60s)->empty());
  CHECK(store->flagged(10)->front().row == row);
}

TEST_CASE("requeue puts a flagged row back in the queue with zero attempts") {
  TempDb temp;
  auto db = ob::sqlite::open_database(temp.path());
  append_committed(db->get(), 1);
  auto store = store_of(temp);
  auto row = store->claim(1, t0, 60s)->front().row;
  const ob::Failure refused{.row = row, .error = "rejected", .counts = true};
  REQUIRE(store->record_failures({&refused, 1}, t0, t0, 1)->size() == 1);
  CHECK(*store->requeue(row + 1) == 0);
  CHECK(*store->requeue(row) == 1);
  auto again = store->claim(1, t0, 60s);
  REQUIRE(again->size() == 1);
  CHECK(again->front().attempts == 0);
}

TEST_CASE("cleanup removes only sent rows older than the retention cutoff") {
  TempDb temp;
  auto db = ob::sqlite::open_database(temp.path());
  append_committed(db->get(), 4);
  auto store = store_of(temp);
  auto rows = *store->claim(4, t0, 60s);
  const std::int64_t old_row = rows[0].row, recent_row = rows[1].row;
  REQUIRE(store->mark_sent({&old_row, 1}, t0).has_value());
  REQUIRE(store->mark_sent({&recent_row, 1}, t0 + 2h).has_value());
  const ob::Failure refused{.row = rows[2].row, .error = "rejected", .counts = true};
  REQUIRE(store->record_failures({&refused, 1}, t0, t0, 1)->size() == 1);  // flagged, old

  CHECK(*store->delete_sent_before(t0 + 1h) == 1);
  auto counts = store->counts();
  CHECK(counts->sent == 1);     // the recent one stays
  CHECK(counts->flagged == 1);  // flagged rows are never cleaned up
  CHECK(counts->pending == 1);  // the unsent one (still leased) stays
}

TEST_CASE("open_store refuses an unknown database scheme") {
  auto store = ob::open_store("mysql://x");
  REQUIRE_FALSE(store.has_value());
  CHECK(store.error().code == fleet::Errc::invalid_argument);
}

TEST_CASE("the backlog knows when its oldest pending row was appended, and a claim each row's") {
  TempDb temp;
  auto db = ob::sqlite::open_database(temp.path());
  auto store = store_of(temp);
  CHECK_FALSE(store->counts()->oldest_pending.has_value());

  append_committed(db->get(), 2);
  exec(db->get(), "UPDATE fleet_outbox SET created_at = 1700000000000 WHERE id = 1");
  exec(db->get(), "UPDATE fleet_outbox SET created_at = 1700000005000 WHERE id = 2");
  auto counts = store->counts();
  REQUIRE(counts->oldest_pending.has_value());
  CHECK(*counts->oldest_pending == t0);

  auto claimed = store->claim(2, t0 + 10s, 60s);
  REQUIRE(claimed->size() == 2);
  CHECK(claimed->at(0).created_at == t0);
  CHECK(claimed->at(1).created_at == t0 + 5s);

  // The oldest is sent: the next one is the oldest waiting; none once both are sent.
  const std::int64_t first = claimed->at(0).row;
  REQUIRE(store->mark_sent({&first, 1}, t0 + 10s).has_value());
  CHECK(*store->counts()->oldest_pending == t0 + 5s);
  const std::int64_t second = claimed->at(1).row;
  REQUIRE(store->mark_sent({&second, 1}, t0 + 10s).has_value());
  CHECK_FALSE(store->counts()->oldest_pending.has_value());
}
