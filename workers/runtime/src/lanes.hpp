// Ordered lanes: `count` threads, each draining its own FIFO. Work with one key always lands in
// one lane, so it runs one at a time and in arrival order; keyless work is spread round-robin.
#pragma once

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

  void push(std::string_view key, broker::Delivery delivery);
  // Stops taking work; queued deliveries are dropped unsettled (the broker redelivers them).
  // Joins the threads, or detaches those still busy when `join` is false.
  void halt(bool join);

 private:
  struct Lane {
    std::mutex mutex;
    std::condition_variable ready;
    std::deque<broker::Delivery> queue;
    bool halted = false;
    std::thread thread;
  };
  void drain(Lane& lane);

  Work work_;
  std::vector<std::unique_ptr<Lane>> lanes_;
  std::size_t next_ = 0;  // round-robin cursor for keyless work (push is single-threaded)
};

}  // namespace fleet::runtime
