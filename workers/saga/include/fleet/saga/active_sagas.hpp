// The admission cap of one orchestrator process: how many sagas it keeps active at once. The
// start binding asks room() before each fetch; 0 leaves start events in the stream, unattempted.
//
// Counting: +1 when this process applies a saga's start, -1 when it applies a transition that
// ends a saga (never below zero). Replies of one saga may be handled by any orchestrator process
// of the durable, so one process's count is an estimate; the sum over the processes never
// undercounts while they run, and a process that lost its count (restart) counts from zero
// again. Thread-safe; room() never blocks.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace fleet::saga {

class ActiveSagas {
 public:
  explicit ActiveSagas(std::size_t cap) : cap_(cap) {}  // cap 0 = no cap

  std::size_t room() const {
    if (cap_ == 0) return static_cast<std::size_t>(-1);
    const auto active = active_.load();
    return active >= cap_ ? 0 : cap_ - active;
  }
  std::size_t active() const { return active_.load(); }
  std::size_t cap() const { return cap_; }

  void started() { ++active_; }
  void ended() {
    auto active = active_.load();
    while (active > 0 && !active_.compare_exchange_weak(active, active - 1)) {
    }
  }

 private:
  std::size_t cap_;
  std::atomic<std::size_t> active_{0};
};

}  // namespace fleet::saga
