// Ordered lanes: `count` threads, each draining its own FIFO. Work with one key always lands in
// one lane, so it runs one at a time and in arrival order; keyless work is spread round-robin.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string_view>
#include <thread>
#include <vector>

#include "fleet/broker/delivery.hpp"

namespace fleet::runtime {

class Lanes {
 public:
  using Work = std::function<void(broker::Delivery&)>;

  Lanes(int count, Work work);
  ~Lanes();  // halts and joins
  Lanes(const Lanes&) = delete;
  Lanes& operator=(const Lanes&) = delete;

  using KeyOf = std::function<std::string_view(const broker::Delivery&)>;

  // Queues a fetched batch, each delivery in the lane of its key (one wake-up per lane touched).
  void push(std::vector<broker::Delivery>& batch, const KeyOf& key_of);
  // Stops taking work; queued deliveries are dropped unsettled (the broker redelivers them).
  // Joins the threads, or detaches those still busy when `join` is false.
  void halt(bool join);

 private:
  struct Lane {
    std::mutex mutex;
    std::condition_variable ready;
    std::deque<broker::Delivery> queue;
    std::atomic<bool> halted = false;
    std::thread thread;
  };
  void drain(Lane& lane);

  Work work_;
  std::vector<std::unique_ptr<Lane>> lanes_;
  std::size_t next_ = 0;  // round-robin cursor for keyless work (push is single-threaded)
  std::vector<std::vector<broker::Delivery>> sorted_;  // push's per-lane scratch, reused
};

}  // namespace fleet::runtime
