// Key-value buckets of the memory broker, with JetStream KV's rules: bucket names and keys are
// checked as the server checks them, revisions come from one counter per bucket (an erase takes
// one too, as JetStream's delete marker does), and a TTL counts from the key's last write.
#include <cctype>
#include <utility>

#include "memory/broker.hpp"

namespace fleet::broker::memory {
namespace {

constexpr int max_history = 64;  // JetStream's limit, kept so configs that fail there fail here

bool word_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_';
}

bool valid_bucket_name(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!word_char(c)) return false;
  }
  return true;
}

// Keys become subject tokens on JetStream: no empty token, so no leading, trailing or double dot.
bool valid_key(std::string_view key) {
  if (key.empty() || key.front() == '.' || key.back() == '.') return false;
  for (std::size_t i = 0; i < key.size(); ++i) {
    const char c = key[i];
    if (c == '.' && key[i - 1] == '.') return false;
    if (!word_char(c) && c != '.' && c != '=' && c != '/') return false;
  }
  return true;
}

Status check_key(std::string_view key) {
  if (valid_key(key)) return {};
  return fail(Errc::invalid_argument, "invalid key '" + std::string(key) + "'");
}

class MemoryKeyValue final : public KeyValue {
 public:
  MemoryKeyValue(std::shared_ptr<Broker> broker, std::string bucket)
      : broker_(std::move(broker)), bucket_(std::move(bucket)) {}

  Result<std::optional<Entry>> get(std::string_view key) override {
    return broker_->kv_get(bucket_, key);
  }
  Result<std::uint64_t> put(std::string_view key, std::string_view value) override {
    return broker_->kv_write(bucket_, key, value, std::nullopt);
  }
  Status put_async(std::string_view key, std::string_view value, WriteCallback done) override {
    auto revision = put(key, value);
    if (!revision && revision.error().code == Errc::invalid_argument) {
      return fleet::fail(revision.error());
    }
    done(revision);
    return {};
  }
  Result<std::uint64_t> create(std::string_view key, std::string_view value) override {
    return broker_->kv_write(bucket_, key, value, 0);
  }
  Result<std::uint64_t> update(std::string_view key, std::string_view value,
                               std::uint64_t expected) override {
    // 0 would mean "must not exist" to kv_write, which is create's job (and JetStream's too).
    if (expected == 0) return fail(Errc::invalid_argument, "update expects a revision > 0");
    return broker_->kv_write(bucket_, key, value, expected);
  }
  Status erase(std::string_view key) override { return broker_->kv_erase(bucket_, key); }

 private:
  std::shared_ptr<Broker> broker_;  // keeps the buckets alive after the transport is gone
  std::string bucket_;
};

}  // namespace

Status Broker::ensure_bucket(const BucketConfig& config) {
  if (!valid_bucket_name(config.name)) {
    return fail(Errc::invalid_argument, "invalid bucket name '" + config.name + "'");
  }
  if (config.ttl.count() < 0 || config.history < 1 || config.history > max_history ||
      config.replicas < 1) {
    return fail(Errc::invalid_argument, "bucket " + config.name + ": bad ttl/history/replicas");
  }
  std::lock_guard lock(kv_mutex_);
  // Entries stay; a new TTL applies to them too, as a MaxAge update does on JetStream.
  buckets_[config.name].config = config;
  return {};
}

Result<std::optional<Entry>> Broker::kv_get(std::string_view bucket_name, std::string_view key) {
  if (auto ok = check_key(key); !ok) return fail(ok.error());
  std::lock_guard lock(kv_mutex_);
  auto bucket = find_bucket(bucket_name);
  if (!bucket) return fail(bucket.error());
  const Slot* slot = live(**bucket, key, Clock::now());
  if (slot == nullptr) return std::optional<Entry>{};
  return std::optional<Entry>(Entry{slot->value, slot->revision});
}

Result<std::uint64_t> Broker::kv_write(std::string_view bucket_name, std::string_view key,
                                       std::string_view value,
                                       std::optional<std::uint64_t> expected) {
  if (auto ok = check_key(key); !ok) return fail(ok.error());
  std::lock_guard lock(kv_mutex_);
  auto bucket = find_bucket(bucket_name);
  if (!bucket) return fail(bucket.error());
  const auto now = Clock::now();
  const Slot* slot = live(**bucket, key, now);
  if (expected) {
    const std::uint64_t latest = slot != nullptr ? slot->revision : 0;
    if (latest != *expected) {
      return fail(Errc::conflict, std::string(bucket_name) + "/" + std::string(key) +
                                      ": latest revision is " + std::to_string(latest) + ", not " +
                                      std::to_string(*expected));
    }
  }
  const std::uint64_t revision = ++(*bucket)->last_revision;
  auto& stored = (*bucket)->slots[std::string(key)];
  stored = Slot{std::string(value), revision, now};
  return revision;
}

Status Broker::kv_erase(std::string_view bucket_name, std::string_view key) {
  if (auto ok = check_key(key); !ok) return fail(ok.error());
  std::lock_guard lock(kv_mutex_);
  auto bucket = find_bucket(bucket_name);
  if (!bucket) return fail(bucket.error());
  ++(*bucket)->last_revision;
  if (auto it = (*bucket)->slots.find(key); it != (*bucket)->slots.end()) {
    (*bucket)->slots.erase(it);
  }
  return {};
}

Broker::Slot* Broker::live(Bucket& bucket, std::string_view key, Clock::time_point now) {
  auto it = bucket.slots.find(key);
  if (it == bucket.slots.end()) return nullptr;
  const auto ttl = bucket.config.ttl;
  if (ttl.count() > 0 && it->second.written + ttl <= now) {
    bucket.slots.erase(it);
    return nullptr;
  }
  return &it->second;
}

Result<Broker::Bucket*> Broker::find_bucket(std::string_view name) {
  auto it = buckets_.find(name);
  if (it == buckets_.end()) return fail(Errc::not_found, "no bucket " + std::string(name));
  return &it->second;
}

Result<std::unique_ptr<KeyValue>> open_key_value(std::shared_ptr<Broker> broker,
                                                 const BucketConfig& config) {
  if (auto ok = broker->ensure_bucket(config); !ok) return fail(ok.error());
  return std::unique_ptr<KeyValue>(
      std::make_unique<MemoryKeyValue>(std::move(broker), config.name));
}

}  // namespace fleet::broker::memory
