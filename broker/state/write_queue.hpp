// The writer thread behind KeyValue::put_async on a SQL store: callers queue puts and return at
// once; the thread commits whatever has queued up in one transaction (one fsync for many puts),
// then calls each callback with its revision or the batch's error. Between batches, and every
// few seconds when idle, it asks the backend to delete expired entries.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "state/session.hpp"

namespace fleet::broker::state {

class WriteQueue {
 public:
  static constexpr std::size_t max_batch = 512;
  // push blocks while this many puts wait, so a stalled database cannot exhaust memory.
  static constexpr std::size_t max_queued = 10'000;
  static constexpr std::chrono::seconds sweep_interval{5};
  static constexpr std::chrono::milliseconds backlog_interval{100};
  static constexpr int max_sweep_rounds = 10;  // bounded remove_expired calls per sweep

  // Starts the thread, which first removes expired entries.
  explicit WriteQueue(std::unique_ptr<Session> session);
  // Writes everything still queued and calls its callbacks, then stops the thread.
  ~WriteQueue();
  WriteQueue(const WriteQueue&) = delete;
  WriteQueue& operator=(const WriteQueue&) = delete;

  void push(QueuedPut put);

 private:
  void run();

  std::unique_ptr<Session> session_;  // used by the thread only
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<QueuedPut> queue_;
  bool stopping_ = false;
  std::thread thread_;  // last: started once everything above exists
};

}  // namespace fleet::broker::state
