// One bucket on one database connection: what a SQL backend (SQLite, PostgreSQL) provides. The
// KeyValue around it (key_value.hpp) checks keys, serialises callers and owns the writer thread;
// a Session is used by one thread at a time.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fleet/broker/key_value.hpp"

namespace fleet::broker::state {

struct QueuedPut {
  std::string key;  // already checked
  std::string value;
  KeyValue::WriteCallback done;
};

class Session {
 public:
  virtual ~Session() = default;
  // The live entry: not erased, not expired.
  virtual Result<std::optional<Entry>> get(std::string_view key) = 0;
  // In one transaction: checks `expected` (nullopt: write anyway; 0: no live entry; n: the live
  // entry has revision n, else Errc::conflict), takes the bucket's next revision and writes.
  virtual Result<std::uint64_t> write(std::string_view key, std::string_view value,
                                      std::optional<std::uint64_t> expected) = 0;
  // Takes a revision (as JetStream's delete marker does) and removes the key, if there.
  virtual Status erase(std::string_view key) = 0;
  // Writes `puts` in order in one transaction: one increasing revision per put, the later value
  // winning for a key written twice. On an error nothing was written.
  virtual Result<std::vector<std::uint64_t>> write_batch(std::span<const QueuedPut> puts) = 0;
  // Deletes expired entries of the bucket, a bounded number per call so the write lock is not
  // held for long; true when there may be more.
  virtual Result<bool> remove_expired() = 0;
};

}  // namespace fleet::broker::state
