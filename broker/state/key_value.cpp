#include "state/key_value.hpp"

#include <mutex>
#include <utility>

#include "state/names.hpp"
#include "state/write_queue.hpp"

namespace fleet::broker::state {
namespace {

class SqlKeyValue final : public KeyValue {
 public:
  SqlKeyValue(std::string bucket, std::unique_ptr<Session> calls, std::unique_ptr<Session> writer)
      : bucket_(std::move(bucket)), calls_(std::move(calls)), writes_(std::move(writer)) {}

  Result<std::optional<Entry>> get(std::string_view key) override {
    if (auto ok = check_key(key); !ok) return fail(ok.error());
    std::lock_guard lock(mutex_);
    return named(calls_->get(key), "get", key);
  }
  Result<std::uint64_t> put(std::string_view key, std::string_view value) override {
    return write(key, value, std::nullopt, "put");
  }
  Status put_async(std::string_view key, std::string_view value, WriteCallback done) override {
    if (auto ok = check_key(key); !ok) return ok;
    writes_.push(QueuedPut{std::string(key), std::string(value), std::move(done)});
    return {};
  }
  Result<std::uint64_t> create(std::string_view key, std::string_view value) override {
    return write(key, value, 0, "create");
  }
  Result<std::uint64_t> update(std::string_view key, std::string_view value,
                               std::uint64_t expected) override {
    // 0 would mean "must not exist", which is create's job (and JetStream's rule too).
    if (expected == 0) return fail(Errc::invalid_argument, "update expects a revision > 0");
    return write(key, value, expected, "update");
  }
  Status erase(std::string_view key) override {
    if (auto ok = check_key(key); !ok) return ok;
    std::lock_guard lock(mutex_);
    return named(calls_->erase(key), "erase", key);
  }

 private:
  Result<std::uint64_t> write(std::string_view key, std::string_view value,
                              std::optional<std::uint64_t> expected, const char* verb) {
    if (auto ok = check_key(key); !ok) return fail(ok.error());
    std::lock_guard lock(mutex_);
    return named(calls_->write(key, value, expected), verb, key);
  }

  // "update ORDERS/saga.1: ..." so a log line says which bucket and key failed.
  template <class T>
  T named(T result, const char* verb, std::string_view key) const {
    if (!result) {
      result.error().message = std::string(verb) + " " + bucket_ + "/" + std::string(key) + ": " +
                               result.error().message;
    }
    return result;
  }

  std::string bucket_;
  std::mutex mutex_;  // a connection is used by one thread at a time
  std::unique_ptr<Session> calls_;
  WriteQueue writes_;  // last: destroyed first, so queued puts drain while all else exists
};

}  // namespace

std::unique_ptr<KeyValue> make_key_value(std::string bucket, std::unique_ptr<Session> calls,
                                         std::unique_ptr<Session> writer) {
  return std::make_unique<SqlKeyValue>(std::move(bucket), std::move(calls), std::move(writer));
}

}  // namespace fleet::broker::state
