// The sagas whose state write this process has staged and the broker not yet answered
// (runtime::StateWrite), and which of them a write was refused for.
//
// The next event of a saga normally comes after its write is stored (a participant answers a
// command published only then); a timer or a duplicate may come sooner. Deciding it meanwhile
// would start from a state whose revision is not known yet, so it waits for the answer
// (wait_until_answered). A saga whose write was refused (a conflict, an outage, a write
// dropped unstarted) is decided next on the store, with a synchronous compare-and-set
// (take_refused), so a handler that keeps losing a race still makes progress the old way.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>

namespace fleet::saga {

class WritesInFlight {
 public:
  void staged(const std::string& saga_id) {
    std::lock_guard lock(mutex_);
    ++in_flight_[saga_id];
  }

  // The broker answered (or the write was dropped). `refused`: decide this saga on the store
  // next time.
  void answered(const std::string& saga_id, bool refused) {
    {
      std::lock_guard lock(mutex_);
      if (auto it = in_flight_.find(saga_id); it != in_flight_.end() && --it->second == 0) {
        in_flight_.erase(it);
      }
      if (refused) refused_.insert(saga_id);
    }
    changed_.notify_all();
  }

  // False when the saga's write is still unanswered after `limit` (the broker is slow or gone):
  // decide on the store then.
  bool wait_until_answered(const std::string& saga_id, std::chrono::milliseconds limit) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, limit, [&] { return !in_flight_.contains(saga_id); });
  }

  // Whether a write of this saga was refused since it was last asked; asking clears it.
  bool take_refused(const std::string& saga_id) {
    std::lock_guard lock(mutex_);
    return refused_.erase(saga_id) > 0;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::unordered_map<std::string, int> in_flight_;
  std::unordered_set<std::string> refused_;
};

}  // namespace fleet::saga
