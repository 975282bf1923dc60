// The way in to a worker's settle paths (inbox, publishes, acks: everything that reaches the
// transport) for its lane threads. Closing it waits for the threads inside and turns later ones
// away, so a handler that returns after the worker stopped cannot reach a transport that may be
// gone: its thread leaves the delivery unsettled (the broker redelivers it).
#pragma once

#include <condition_variable>
#include <mutex>

namespace fleet::runtime {

class Gate {
 public:
  // False once closed.
  bool enter() {
    std::lock_guard lock(mutex_);
    if (closed_) return false;
    ++inside_;
    return true;
  }
  void leave() {
    std::lock_guard lock(mutex_);
    if (--inside_ == 0) empty_.notify_all();
  }
  // Waits until nobody is inside; every later enter() fails.
  void close() {
    std::unique_lock lock(mutex_);
    closed_ = true;
    empty_.wait(lock, [&] { return inside_ == 0; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable empty_;
  int inside_ = 0;
  bool closed_ = false;
};

}  // namespace fleet::runtime
