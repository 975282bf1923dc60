#include "state/write_queue.hpp"

#include <utility>

namespace fleet::broker::state {

WriteQueue::WriteQueue(std::unique_ptr<Session> session)
    : session_(std::move(session)), thread_([this] { run(); }) {}

WriteQueue::~WriteQueue() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

void WriteQueue::push(QueuedPut put) {
  std::unique_lock lock(mutex_);
  // A callback that queues another put runs on the writer thread, which must not wait for
  // itself.
  if (std::this_thread::get_id() != thread_.get_id()) {
    changed_.wait(lock, [&] { return queue_.size() < max_queued; });
  }
  queue_.push_back(std::move(put));
  lock.unlock();
  changed_.notify_all();
}

void WriteQueue::run() {
  using Clock = std::chrono::steady_clock;
  auto next_sweep = Clock::now();
  std::vector<QueuedPut> batch;
  batch.reserve(max_batch);
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      changed_.wait_until(lock, next_sweep, [&] { return !queue_.empty() || stopping_; });
      if (queue_.empty() && stopping_) return;
      while (!queue_.empty() && batch.size() < max_batch) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    if (!batch.empty()) {
      changed_.notify_all();  // room in the queue for blocked producers
      auto revisions = session_->write_batch(batch);
      for (std::size_t i = 0; i < batch.size(); ++i) {
        if (revisions) {
          batch[i].done((*revisions)[i]);
        } else {
          batch[i].done(fail(revisions.error()));
        }
      }
      batch.clear();
    }
    if (Clock::now() >= next_sweep) {
      // Errors (a busy file, a lost connection) are left for the next round. A backlog (expired
      // faster than one sweep removes) is worked off in short steps between batches.
      bool more = false;
      for (int round = 0; round < max_sweep_rounds; ++round) {
        auto removed = session_->remove_expired();
        more = removed && *removed;
        if (!more) break;
      }
      next_sweep = Clock::now() + (more ? backlog_interval : sweep_interval);
    }
  }
}

}  // namespace fleet::broker::state
