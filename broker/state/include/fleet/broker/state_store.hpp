// KeyValue buckets in a SQL database, for transports whose broker has none (Kafka). Same rules as
// JetStream KV (fleet/broker/key_value.hpp): key and bucket-name checks, Errc::conflict for a lost
// compare-and-set, revisions > 0 that grow with every write (and erase) to the bucket, a TTL
// counted from a key's last write. Only the latest revision of a key is kept: `history` is
// checked (1..64) but not honoured, and `replicas` is the database's business.
//
//   auto store = fleet::broker::state::open("sqlite:/var/lib/fleet/state.db");
//   auto inbox = (*store)->bucket({.name = "inbox_payment", .ttl = std::chrono::hours(24)});
//
// Threads: a Store and its KeyValues may be used from any number of threads. Each KeyValue owns
// a connection for its calls (serialised by a mutex) and a writer thread that commits
// put_async writes in batches and deletes expired entries every few seconds; its callbacks run
// on that thread. Destroying a KeyValue waits until every queued put_async has been written and
// its callback called. A KeyValue does not need its Store to stay alive.
#pragma once

#include <memory>
#include <string>

#include "fleet/broker/key_value.hpp"
#include "fleet/error.hpp"

namespace fleet::broker::state {

class Store {
 public:
  virtual ~Store() = default;
  // Opens the bucket, creating it or bringing its TTL to `config.ttl` (applied to the entries
  // already there, as JetStream applies a new MaxAge). Errc::invalid_argument for a bad name or
  // config; Errc::unavailable / Errc::io when the database cannot be reached.
  virtual Result<std::unique_ptr<KeyValue>> bucket(const BucketConfig& config) = 0;
};

// Opens the SQL state store named by `url`, creating its tables if missing:
//   "sqlite:PATH"      a file, created if missing, in WAL mode: shared by the processes of one
//                      host (writes are serialised by the file lock, BEGIN IMMEDIATE)
//   "postgresql://..." or "postgres://...": a libpq connection URI; shared by many nodes
// Errc::invalid_argument for any other form.
Result<std::shared_ptr<Store>> open(const std::string& url);

}  // namespace fleet::broker::state
