// Environments that run the key-value acceptance suite against the SQL state store
// (fleet/broker/state_store.hpp), which Kafka deployments use for the inbox and saga state. Each
// connect() is a fresh "process": a memory transport for everything but key_value, which opens
// its buckets in a Store of its own on the shared database.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

#include "fleet/broker/state_store.hpp"
#include "postgres_server.hpp"
#include "transport_acceptance.hpp"

namespace fleet::test::acceptance {

// A Transport whose key_value() goes to a state store; everything else to `inner`.
class StateStoreTransport final : public Transport {
 public:
  StateStoreTransport(std::unique_ptr<Transport> inner, std::shared_ptr<broker::state::Store> store)
      : inner_(std::move(inner)), store_(std::move(store)) {}

  Status ensure_stream(const StreamConfig& config) override {
    return inner_->ensure_stream(config);
  }
  Status ensure_consumer(const ConsumerConfig& config) override {
    return inner_->ensure_consumer(config);
  }
  Status remove_consumer(const std::string& stream, const std::string& durable) override {
    return inner_->remove_consumer(stream, durable);
  }
  Result<PublishAck> publish(const Message& message, milliseconds timeout) override {
    return inner_->publish(message, timeout);
  }
  Status publish_async(const Message& message, broker::PublishCallback done) override {
    return inner_->publish_async(message, std::move(done));
  }
  Status flush(milliseconds timeout) override { return inner_->flush(timeout); }
  Result<std::unique_ptr<Subscription>> subscribe(const ConsumerConfig& config) override {
    return inner_->subscribe(config);
  }
  Result<std::vector<broker::StreamInfo>> streams() override { return inner_->streams(); }
  Result<std::map<std::string, std::uint64_t>> subject_counts(const std::string& stream,
                                                              const std::string& filter) override {
    return inner_->subject_counts(stream, filter);
  }
  bool connected() const override { return inner_->connected(); }
  Result<std::unique_ptr<broker::KeyValue>> key_value(const broker::BucketConfig& config) override {
    return store_->bucket(config);
  }
  Result<std::unique_ptr<broker::StreamStore>> stream_store(const std::string& stream) override {
    return inner_->stream_store(stream);
  }

 private:
  std::unique_ptr<Transport> inner_;
  std::shared_ptr<broker::state::Store> store_;
};

// A directory of its own, removed with everything in it (the SQLite file and its -wal, -shm).
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "fleet-state-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// One SQLite file per test case, opened by every "process" of it.
struct SqliteStateEnv {
  static constexpr const char* name = "sqlite-state";
  static constexpr Features features{.survives_server_restart = false};

  TempDir dir;
  std::string url = "sqlite:" + (dir.path() / "state.db").string();
  std::shared_ptr<broker::memory::Broker> broker = broker::memory::make_broker();

  std::unique_ptr<Transport> connect() {
    return std::make_unique<StateStoreTransport>(broker::memory::connect(broker),
                                                 ok(broker::state::open(url)));
  }
  void restart_server() {}
};

// One PostgreSQL server per test binary (bucket names are unique per test case).
struct PostgresStateEnv {
  static constexpr const char* name = "postgres-state";
  static constexpr Features features{.survives_server_restart = false};

  static PostgresServer& server() {
    static PostgresServer instance;
    return instance;
  }

  std::shared_ptr<broker::memory::Broker> broker = broker::memory::make_broker();

  std::unique_ptr<Transport> connect() {
    // The acceptance suite has no skip: without the server binaries this fails, and says why.
    REQUIRE_MESSAGE(PostgresServer::available(),
                    "PostgreSQL server binaries not found in "
                        << PostgresServer::bin_dir()
                        << " (install Debian package `postgresql` or set FLEET_PG_BIN)");
    return std::make_unique<StateStoreTransport>(broker::memory::connect(broker),
                                                 ok(broker::state::open(server().url())));
  }
  void restart_server() {}
};

// The key-value suite runs on every transport and on the SQL state stores.
using KeyValueEnvs =
    std::tuple<MemoryEnv, JetStreamEnv, KafkaEnv, SqliteStateEnv, PostgresStateEnv>;

}  // namespace fleet::test::acceptance

DOCTEST_TYPE_TO_STRING_AS("sqlite-state", fleet::test::acceptance::SqliteStateEnv);
DOCTEST_TYPE_TO_STRING_AS("postgres-state", fleet::test::acceptance::PostgresStateEnv);
