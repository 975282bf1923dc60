// The orchestrator's memory of the saga states it wrote last: saga id -> (state, revision).
// It saves the KV read before each transition of a saga whose last transition this process
// applied. A cached entry may be stale (another orchestrator process of the durable applied a
// later transition): a write decided on it then fails its compare-and-set on the cached
// revision, and the caller forgets the entry and reads the store. So the cache never decides
// anything the store has not confirmed, except for ended sagas: an ended saga is never
// written again, so "ended" is final wherever it is remembered. Ended sagas are kept as that
// fact only (no state), for the watchdog timer that retires after them.
//
// Bounded: beyond `capacity` entries the oldest written is forgotten. Thread-safe. States are
// shared, never copied: a saga state carries its recent outputs (a few KB in dozens of
// allocations), and the orchestrator reads one for every event of a saga.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "fleet/saga/state.hpp"

namespace fleet::saga {

class StateCache {
 public:
  struct Hit {
    std::shared_ptr<const SagaState> state;  // null: the saga ended (its state is not kept)
    std::uint64_t revision = 0;              // of `state` in the store; 0 for an ended saga
  };

  explicit StateCache(std::size_t capacity) : capacity_(capacity) {}

  std::optional<Hit> find(const std::string& saga_id) const {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(saga_id);
    if (it == entries_.end()) return std::nullopt;
    return it->second;
  }

  // After a successful write of `state` at `revision`.
  void written(std::shared_ptr<const SagaState> state, std::uint64_t revision) {
    if (capacity_ == 0) return;
    const std::string id = state->saga_id;
    Hit hit{.state = nullptr, .revision = 0};
    if (!state->terminal()) hit = {.state = std::move(state), .revision = revision};
    std::lock_guard lock(mutex_);
    auto [it, inserted] = entries_.insert_or_assign(id, std::move(hit));
    if (!inserted) return;
    order_.push_back(it->first);
    // An id forgotten and written again is listed twice; its older place evicts it early,
    // which only costs a read.
    while (order_.size() > capacity_) {
      entries_.erase(order_.front());
      order_.pop_front();
    }
  }

  void written(SagaState state, std::uint64_t revision) {
    written(std::make_shared<const SagaState>(std::move(state)), revision);
  }

  // After a compare-and-set on the cached revision failed: the entry is stale.
  void forget(const std::string& saga_id) {
    std::lock_guard lock(mutex_);
    entries_.erase(saga_id);  // its id stays in order_ until it falls out
  }

  std::size_t size() const {
    std::lock_guard lock(mutex_);
    return entries_.size();
  }

 private:
  std::size_t capacity_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Hit> entries_;
  std::deque<std::string> order_;  // ids in the order they were first written
};

}  // namespace fleet::saga
