// Key-value acceptance: behaviours every Transport's KeyValue must show, run against each Env in
// `KeyValueEnvs` (state_store_envs.hpp): every transport, and the SQL state stores that give
// Kafka deployments their buckets. As there, timing is only asserted as a lower bound.
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "state_store_envs.hpp"

namespace fleet::test::acceptance {
namespace {

using namespace std::string_literals;
using broker::BucketConfig;
using broker::Entry;
using broker::KeyValue;

BucketConfig bucket_config(std::string_view tag, milliseconds ttl = {}) {
  BucketConfig config;
  config.name = unique_names(tag).stream;  // ACC_<tag>_<n>: unique per test case and server
  config.ttl = ttl;
  return config;
}

std::unique_ptr<KeyValue> open(Transport& transport, const BucketConfig& config,
                               std::source_location at = std::source_location::current()) {
  return ok(transport.key_value(config), at);
}

// The error code of a call expected to fail, or "ok" when it did not.
template <class T>
std::string code_of(const Result<T>& result) {
  return result ? "ok" : std::string(to_string(result.error().code));
}

TEST_CASE_TEMPLATE_DEFINE("kv: put then get returns the value and its revision", Env, kv_put_get) {
  Env env;
  auto transport = env.connect();
  auto kv = open(*transport, bucket_config("KV_PUT"));
  const std::uint64_t first = ok(kv->put("order.1", "created"));
  CHECK(first > 0);
  std::optional<Entry> got = ok(kv->get("order.1"));
  REQUIRE(got.has_value());
  CHECK(got->value == "created");
  CHECK(got->revision == first);

  // Revisions grow across the whole bucket, not per key.
  const std::uint64_t other = ok(kv->put("order.2", "created"));
  const std::uint64_t second = ok(kv->put("order.1", "paid"));
  CHECK(other > first);
  CHECK(second > other);
  got = ok(kv->get("order.1"));
  REQUIRE(got.has_value());
  CHECK(got->value == "paid");
  CHECK(got->revision == second);
}
TEST_CASE_TEMPLATE_APPLY(kv_put_get, KeyValueEnvs);

TEST_CASE_TEMPLATE_DEFINE("kv: get of a missing key is empty", Env, kv_missing) {
  Env env;
  auto transport = env.connect();
  auto kv = open(*transport, bucket_config("KV_MISSING"));
  CHECK_FALSE(ok(kv->get("never-written")).has_value());
}
TEST_CASE_TEMPLATE_APPLY(kv_missing, KeyValueEnvs);

TEST_CASE_TEMPLATE_DEFINE("kv: create on an existing key is a conflict and leaves the value", Env,
                          kv_create_conflict) {
  Env env;
  auto transport = env.connect();
  auto kv = open(*transport, bucket_config("KV_CREATE"));
  const std::uint64_t revision = ok(kv->create("event-1", "first"));
  CHECK(code_of(kv->create("event-1", "second")) == "conflict");
  const auto got = ok(kv->get("event-1"));
  REQUIRE(got.has_value());
  CHECK(got->value == "first");
  CHECK(got->revision == revision);
}
TEST_CASE_TEMPLATE_APPLY(kv_create_conflict, KeyValueEnvs);

TEST_CASE_TEMPLATE_DEFINE("kv: update needs the current revision", Env, kv_update) {
  Env env;
  auto transport = env.connect();
  auto kv = open(*transport, bucket_config("KV_UPDATE"));
  const std::uint64_t stale = ok(kv->put("saga.1", "step-1"));
  const std::uint64_t current = ok(kv->update("saga.1", "step-2", stale));
  CHECK(current > stale);
  CHECK(code_of(kv->update("saga.1", "step-2-again", stale)) == "conflict");
  // A key that does not exist has no revision to match.
  CHECK(code_of(kv->update("saga.missing", "x", current)) == "conflict");
  const auto got = ok(kv->get("saga.1"));
  REQUIRE(got.has_value());
  CHECK(got->value == "step-2");
  CHECK(got->revision == current);
}
TEST_CASE_TEMPLATE_APPLY(kv_update, KeyValueEnvs);

TEST_CASE_TEMPLATE_DEFINE("kv: of two writers racing on one revision exactly one wins", Env,
                          kv_race) {
  Env env;
  const auto config = bucket_config("KV_RACE");
  auto transport_a = env.connect();
  auto transport_b = env.connect();
  auto kv_a = open(*transport_a, config);
  auto kv_b = open(*transport_b, config);
  for (int round = 0; round < 5; ++round) {
    const std::uint64_t base = ok(kv_a->put("counter", "base"));
    std::atomic<bool> go{false};
    Result<std::uint64_t> a = fail(Errc::internal, "not run");
    Result<std::uint64_t> b = fail(Errc::internal, "not run");
    std::thread writer_a([&] {
      while (!go) std::this_thread::yield();
      a = kv_a->update("counter", "a", base);
    });
    std::thread writer_b([&] {
      while (!go) std::this_thread::yield();
      b = kv_b->update("counter", "b", base);
    });
    go = true;
    writer_a.join();
    writer_b.join();
    INFO("round " << round << ": a=" << code_of(a) << " b=" << code_of(b));
    REQUIRE(a.has_value() != b.has_value());
    CHECK(code_of(a.has_value() ? b : a) == "conflict");
    const auto got = ok(kv_a->get("counter"));
    REQUIRE(got.has_value());
    CHECK(got->value == (a ? "a" : "b"));
    CHECK(got->revision == (a ? *a : *b));
  }
}
TEST_CASE_TEMPLATE_APPLY(kv_race, KeyValueEnvs);

TEST_CASE_TEMPLATE_DEFINE("kv: erase makes get empty and lets create work again", Env, kv_erase) {
  Env env;
  auto transport = env.connect();
  auto kv = open(*transport, bucket_config("KV_ERASE"));
  const std::uint64_t first = ok(kv->create("event-1", "first"));
  ok(kv->erase("event-1"));
  CHECK_FALSE(ok(kv->get("event-1")).has_value());
  const std::uint64_t again = ok(kv->create("event-1", "again"));
  CHECK(again > first);
  const auto got = ok(kv->get("event-1"));
  REQUIRE(got.has_value());
  CHECK(got->value == "again");
  ok(kv->erase("never-written"));  // erasing nothing is not an error
}
TEST_CASE_TEMPLATE_APPLY(kv_erase, KeyValueEnvs);

TEST_CASE_TEMPLATE_DEFINE("kv: get_many answers each key in order, as get does one by one", Env,
                          kv_get_many) {
  Env env;
  auto transport = env.connect();
  auto kv = open(*transport, bucket_config("KV_MANY"));
  const std::uint64_t a = ok(kv->put("handled.a", "1"));
  ok(kv->put("handled.b", ""));
  const std::uint64_t b = ok(kv->put("handled.b", "2"));
  ok(kv->put("handled.gone", "3"));
  ok(kv->erase("handled.gone"));
  const std::vector<std::string> keys = {"handled.a", "handled.never", "handled.b", "handled.gone",
                                         "not..valid"};
  const auto entries = kv->get_many(keys);
  REQUIRE(entries.size() == keys.size());
  const auto a_entry = ok(entries[0]);
  REQUIRE(a_entry.has_value());
  CHECK(a_entry->value == "1");
  CHECK(a_entry->revision == a);
  CHECK_FALSE(ok(entries[1]).has_value());
  const auto b_entry = ok(entries[2]);
  REQUIRE(b_entry.has_value());
  CHECK(b_entry->value == "2");
  CHECK(b_entry->revision == b);
  CHECK_FALSE(ok(entries[3]).has_value());  // erased
  CHECK(code_of(entries[4]) == "invalid_argument");
  CHECK(code_of(kv->get("not..valid")) == "invalid_argument");
  CHECK(kv->get_many({}).empty());
}
TEST_CASE_TEMPLATE_APPLY(kv_get_many, KeyValueEnvs);

// Polls until the key is gone; the time it went, or nullopt if it is still there at `deadline`.
std::optional<Clock::time_point> gone_at(KeyValue& kv, std::string_view key,
                                         Clock::time_point deadline) {
  while (Clock::now() < deadline) {
    if (!ok(kv.get(key)).has_value()) return Clock::now();
    std::this_thread::sleep_for(50ms);
  }
  return std::nullopt;
}

TEST_CASE_TEMPLATE_DEFINE("kv: an entry expires after the bucket's TTL", Env, kv_ttl) {
  Env env;
  auto transport = env.connect();
  const auto ttl = 1s;
  auto kv = open(*transport, bucket_config("KV_TTL", ttl));
  // Taken before the write, so the entry's clock cannot have started earlier.
  const auto before = Clock::now();
  ok(kv->put("event-1", "seen"));
  if (Clock::now() - before < ttl / 2) CHECK(ok(kv->get("event-1")).has_value());
  // JetStream checks MaxAge on a timer of about a second, so allow generously for that.
  const auto gone = gone_at(*kv, "event-1", before + ttl + 10s);
  REQUIRE(gone.has_value());
  CHECK(*gone - before >= ttl);
  ok(kv->create("event-1", "seen again"));  // an expired key can be created again
}
TEST_CASE_TEMPLATE_APPLY(kv_ttl, KeyValueEnvs);

TEST_CASE_TEMPLATE_DEFINE("kv: reopening a bucket with a TTL applies it to its entries", Env,
                          kv_ttl_update) {
  Env env;
  auto config = bucket_config("KV_RETTL");
  auto first = env.connect();
  auto kv = open(*first, config);
  const auto before = Clock::now();
  ok(kv->put("event-1", "kept until reopened"));

  config.ttl = 1s;
  auto second = env.connect();
  auto reopened = open(*second, config);
  const auto gone = gone_at(*reopened, "event-1", before + config.ttl + 10s);
  REQUIRE(gone.has_value());
  CHECK(*gone - before >= config.ttl);
}
TEST_CASE_TEMPLATE_APPLY(kv_ttl_update, KeyValueEnvs);

TEST_CASE_TEMPLATE_DEFINE("kv: a bucket opened by another process sees the same entries", Env,
                          kv_shared) {
  Env env;
  const auto config = bucket_config("KV_SHARED");
  auto writer_process = env.connect();
  auto writer = open(*writer_process, config);
  const std::uint64_t revision = ok(writer->put("inbox.evt-1", "handled"));

  auto reader_process = env.connect();
  auto reader = open(*reader_process, config);
  auto got = ok(reader->get("inbox.evt-1"));
  REQUIRE(got.has_value());
  CHECK(got->value == "handled");
  CHECK(got->revision == revision);

  // And back the other way, through a compare-and-set; the KeyValue outlives its transport.
  const std::uint64_t next = ok(reader->update("inbox.evt-1", "handled twice", revision));
  reader_process.reset();
  got = ok(writer->get("inbox.evt-1"));
  REQUIRE(got.has_value());
  CHECK(got->value == "handled twice");
  CHECK(got->revision == next);
  CHECK(ok(reader->get("inbox.evt-1"))->revision == next);
}
TEST_CASE_TEMPLATE_APPLY(kv_shared, KeyValueEnvs);

TEST_CASE_TEMPLATE_DEFINE("kv: values are bytes", Env, kv_bytes) {
  Env env;
  auto transport = env.connect();
  auto kv = open(*transport, bucket_config("KV_BYTES"));
  std::string large(100'000, '\0');
  for (std::size_t i = 0; i < large.size(); ++i) large[i] = static_cast<char>(i * 131 % 256);
  for (const std::string& value : {"\0\xff\x01 nul and non-UTF-8\0"s, ""s, large}) {
    const std::uint64_t revision = ok(kv->put("blob", value));
    const auto got = ok(kv->get("blob"));
    REQUIRE(got.has_value());
    CHECK(got->value.size() == value.size());
    CHECK(got->value == value);
    CHECK(got->revision == revision);
  }
}
TEST_CASE_TEMPLATE_APPLY(kv_bytes, KeyValueEnvs);

TEST_CASE_TEMPLATE_DEFINE("kv: async puts are each confirmed once and then readable", Env,
                          kv_put_async) {
  Env env;
  auto transport = env.connect();
  auto kv = open(*transport, bucket_config("KV_PUT_ASYNC"));
  constexpr int count = 500;
  std::mutex mutex;
  std::condition_variable all_done;
  std::map<std::string, std::uint64_t> revisions;
  int calls = 0, failures = 0;
  for (int i = 0; i < count; ++i) {
    const std::string key = "handled." + std::to_string(i);
    REQUIRE(kv->put_async(key, "v" + std::to_string(i), [&, key](const Result<std::uint64_t>& r) {
                std::lock_guard lock(mutex);
                ++calls;
                if (r) {
                  revisions[key] = *r;
                } else {
                  ++failures;
                }
                all_done.notify_all();
              }).has_value());
  }
  {
    std::unique_lock lock(mutex);
    REQUIRE(all_done.wait_for(lock, 30s, [&] { return calls >= count; }));
  }
  CHECK(calls == count);
  CHECK(failures == 0);
  for (const auto& [key, revision] : revisions) {
    auto got = ok(kv->get(key));
    REQUIRE(got.has_value());
    CHECK(got->revision == revision);
    CHECK(got->value == "v" + key.substr(key.find('.') + 1));
  }

  bool called = false;
  const Status refused = kv->put_async("a b", "v", [&](const auto&) { called = true; });
  REQUIRE_FALSE(refused.has_value());
  CHECK(refused.error().code == Errc::invalid_argument);
  CHECK_FALSE(called);
}
TEST_CASE_TEMPLATE_APPLY(kv_put_async, KeyValueEnvs);

// One asynchronous write's result, waited for.
class Answer {
 public:
  KeyValue::WriteCallback callback() {
    return [this](const Result<std::uint64_t>& result) {
      std::lock_guard lock(mutex_);
      ++calls_;
      result_ = result;
      answered_.notify_all();
    };
  }
  Result<std::uint64_t> wait() {
    std::unique_lock lock(mutex_);
    REQUIRE(answered_.wait_for(lock, 30s, [&] { return calls_ > 0; }));
    return result_;
  }
  int calls() {
    std::lock_guard lock(mutex_);
    return calls_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable answered_;
  int calls_ = 0;
  Result<std::uint64_t> result_ = fail(Errc::internal, "not answered");
};

TEST_CASE_TEMPLATE_DEFINE(
    "kv: an async compare-and-set stores on the expected revision and is refused on any other", Env,
    kv_cas_async) {
  Env env;
  auto transport = env.connect();
  auto kv = open(*transport, bucket_config("KV_CAS_ASYNC"));

  Answer created;
  REQUIRE(kv->compare_and_set_async("saga.1", "v1", 0, created.callback()).has_value());
  const auto first = created.wait();
  REQUIRE(first.has_value());

  Answer twice;  // 0 = must not exist: it does now
  REQUIRE(kv->compare_and_set_async("saga.1", "again", 0, twice.callback()).has_value());
  CHECK(code_of(twice.wait()) == "conflict");

  Answer updated;
  REQUIRE(kv->compare_and_set_async("saga.1", "v2", *first, updated.callback()).has_value());
  const auto second = updated.wait();
  REQUIRE(second.has_value());
  CHECK(*second > *first);

  Answer stale;  // the revision moved on
  REQUIRE(kv->compare_and_set_async("saga.1", "v3", *first, stale.callback()).has_value());
  CHECK(code_of(stale.wait()) == "conflict");

  // Only the writes on the right revision are stored, each answered once.
  auto stored = ok(kv->get("saga.1"));
  REQUIRE(stored.has_value());
  CHECK(stored->value == "v2");
  CHECK(stored->revision == *second);
  for (Answer* answer : {&created, &twice, &updated, &stale}) CHECK(answer->calls() == 1);
}
TEST_CASE_TEMPLATE_APPLY(kv_cas_async, KeyValueEnvs);

TEST_CASE_TEMPLATE_DEFINE("kv: an invalid key or bucket is invalid_argument", Env, kv_invalid) {
  Env env;
  auto transport = env.connect();
  auto kv = open(*transport, bucket_config("KV_INVALID"));
  for (const std::string& key : {""s, "a b"s, "a*"s, "a.>"s, ".a"s, "a."s, "a..b"s, "a\0b"s}) {
    INFO("key '" << key << "'");
    CHECK(code_of(kv->get(key)) == "invalid_argument");
    CHECK(code_of(kv->put(key, "v")) == "invalid_argument");
    CHECK(code_of(kv->create(key, "v")) == "invalid_argument");
    CHECK(code_of(kv->update(key, "v", 1)) == "invalid_argument");
    CHECK(code_of(kv->erase(key)) == "invalid_argument");
  }
  CHECK(code_of(kv->update("key", "v", 0)) == "invalid_argument");
  BucketConfig bad;
  bad.name = "has.dot";
  CHECK(code_of(transport->key_value(bad)) == "invalid_argument");
}
TEST_CASE_TEMPLATE_APPLY(kv_invalid, KeyValueEnvs);

}  // namespace
}  // namespace fleet::test::acceptance
