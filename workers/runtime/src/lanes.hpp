// Ordered lanes: `count` threads, each draining its own FIFO. Work with one key always lands in
// one lane, so it runs one at a time and in arrival order; keyless work is spread round-robin.
//
// A lane whose watched step (a handler call, see watch_begin) runs past `stuck_after` is
// replaced: a new thread takes over its queue, and the stuck thread is abandoned — detached,
// left to finish or hang on its own. Other keys keep flowing; `on_replaced` says so (on the
// watchdog thread). What `work` references must outlive abandoned threads still running
// (abandoned_running() > 0): the worker keeps itself alive then rather than be destroyed.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "fleet/broker/delivery.hpp"

namespace fleet::runtime {

class Lanes {
 public:
  using Work = std::function<void(broker::Delivery&)>;
  using Replaced = std::function<void()>;

  // stuck_after 0 = no watchdog: a step that never returns pins its lane.
  // `role` names the threads ("lane <role>", thread_name.hpp).
  Lanes(int count, Work work, std::chrono::milliseconds stuck_after = {}, Replaced on_replaced = {},
        std::string role = {});
  ~Lanes();  // halts and joins
  Lanes(const Lanes&) = delete;
  Lanes& operator=(const Lanes&) = delete;

  using KeyOf = std::function<std::string_view(const broker::Delivery&)>;

  // Queues a fetched batch, each delivery in the lane of its key (one wake-up per lane touched).
  void push(std::vector<broker::Delivery>& batch, const KeyOf& key_of);
  // Queues one delivery again, in the lane of `key`, from any thread (a delivery handled again).
  void requeue(broker::Delivery delivery, std::string_view key);
  // Stops taking work; queued deliveries are dropped unsettled (the broker redelivers them).
  // Joins the threads, or detaches those still busy when `join` is false.
  void halt(bool join);
  // Threads the watchdog replaced that have not returned yet.
  int abandoned_running() const { return shared_->abandoned_running.load(); }

  // On a lane thread, around the step the watchdog times. watch_end() is false when this
  // thread was abandoned meanwhile: the delivery it holds is no longer its own to settle.
  // Both do nothing (watch_end is true) on other threads.
  static void watch_begin();
  static bool watch_end();

 private:
  using Clock = std::chrono::steady_clock;
  struct Lane {
    std::mutex mutex;
    std::condition_variable ready;
    std::deque<broker::Delivery> queue;
    bool halted = false;
    std::uint64_t generation = 0;       // bumped when the watchdog replaces the thread
    Clock::time_point watched_since{};  // epoch = no watched step running
    std::thread thread;
  };
  // Shared with the lane threads, which may outlive this object when abandoned.
  struct Shared {
    Work work;
    std::string role;
    std::atomic<int> abandoned_running = 0;
  };
  static void drain(std::shared_ptr<Shared> shared, std::shared_ptr<Lane> lane,
                    std::uint64_t generation);
  void watch();

  std::shared_ptr<Shared> shared_;
  std::vector<std::shared_ptr<Lane>> lanes_;
  std::size_t next_ = 0;  // round-robin cursor for keyless work (push is single-threaded)
  std::size_t index_of(std::string_view key) {
    return key.empty() ? next_++ % lanes_.size()
                       : std::hash<std::string_view>{}(key) % lanes_.size();
  }
  std::vector<std::vector<broker::Delivery>> sorted_;  // push's per-lane scratch, reused

  std::chrono::milliseconds stuck_after_;
  Replaced on_replaced_;
  std::mutex watch_mutex_;
  std::condition_variable watch_stop_;
  bool watch_stopping_ = false;
  std::thread watchdog_;
};

}  // namespace fleet::runtime
