// A replicated key-value bucket on the broker (JetStream KV). Used for the inbox (ids of handled
// events, with a TTL) and for saga state (compare-and-set on revisions).
// Keys: letters, digits and - _ = / . only, with no empty `.`-separated token (JetStream's rule;
// anything else is Errc::invalid_argument); values are bytes. Safe to use from several threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fleet/error.hpp"

namespace fleet::broker {

struct BucketConfig {
  std::string name;  // letters, digits, - and _, e.g. "inbox_payment"
  // Entries expire this long after their last write; 0 = never. JetStream expires on a timer, so
  // an entry may outlive its TTL by up to about a second.
  std::chrono::milliseconds ttl{0};
  int history = 1;   // revisions kept per key, 1..64
  int replicas = 1;  // used when the bucket is created; never changed after
};

struct Entry {
  std::string value;
  std::uint64_t revision = 0;  // > 0; grows with every write to the bucket
};

// `text` made safe as one key token: letters, digits, - and _ kept, every other byte escaped
// as =XX (hex), so ids from any producer map to distinct valid keys. Appended to `token`.
inline void append_key_token(std::string& token, std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  token.reserve(token.size() + text.size());
  for (unsigned char c : text) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_') {
      token += static_cast<char>(c);
    } else {
      token += '=';
      token += hex[c >> 4];
      token += hex[c & 15];
    }
  }
}

inline std::string key_token(std::string_view text) {
  std::string token;
  append_key_token(token, text);
  return token;
}

class KeyValue {
 public:
  virtual ~KeyValue() = default;
  // nullopt when the key does not exist (or was deleted / expired).
  virtual Result<std::optional<Entry>> get(std::string_view key) = 0;
  // The latest entry of each key, in the order of `keys`: the i-th result answers keys[i]. One
  // result per key, each with its own error. JetStream reads them all in one round trip; the
  // default reads one key after the other.
  virtual std::vector<Result<std::optional<Entry>>> get_many(const std::vector<std::string>& keys) {
    std::vector<Result<std::optional<Entry>>> entries;
    entries.reserve(keys.size());
    for (const auto& key : keys) entries.push_back(get(key));
    return entries;
  }
  // Writes unconditionally; returns the new revision.
  virtual Result<std::uint64_t> put(std::string_view key, std::string_view value) = 0;
  // Runs once with the new revision or the error, on a broker thread: it must not block.
  using WriteCallback = std::function<void(const Result<std::uint64_t>&)>;
  // Writes unconditionally without waiting for the broker (many writes share one round trip).
  // On an error return the write was not started and `done` is dropped uncalled.
  virtual Status put_async(std::string_view key, std::string_view value, WriteCallback done) = 0;
  // Writes only if the key does not exist; Errc::conflict otherwise.
  virtual Result<std::uint64_t> create(std::string_view key, std::string_view value) = 0;
  // Writes only if the key's latest revision is `expected`; Errc::conflict otherwise (also when
  // the key does not exist). `expected` must be > 0: use create for "must not exist".
  virtual Result<std::uint64_t> update(std::string_view key, std::string_view value,
                                       std::uint64_t expected) = 0;
  // create (`expected` 0) or update without waiting for the broker: `done` runs once with the
  // new revision or the error (Errc::conflict as above), on a broker thread; it must not block.
  // Unlike create(), an `expected` of 0 conflicts with a deleted key's marker (JetStream): read
  // and use create() / update() then. On an error return the write was not started and `done`
  // is dropped uncalled. The default writes synchronously and runs `done` before returning.
  virtual Status compare_and_set_async(std::string_view key, std::string_view value,
                                       std::uint64_t expected, WriteCallback done) {
    done(expected == 0 ? create(key, value) : update(key, value, expected));
    return {};
  }
  // Erasing a key that does not exist succeeds. Takes a revision (JetStream writes a marker).
  virtual Status erase(std::string_view key) = 0;
};

}  // namespace fleet::broker
