#include "lanes.hpp"

#include <algorithm>
#include <optional>

#include "fleet/thread_name.hpp"

namespace fleet::runtime {
namespace {

// The lane a lane thread serves and the generation it was started for, for watch_begin/end.
struct Current {
  std::mutex* mutex = nullptr;
  const std::uint64_t* generation = nullptr;
  std::chrono::steady_clock::time_point* watched_since = nullptr;
  std::uint64_t started_for = 0;
};
thread_local Current current;

}  // namespace

Lanes::Lanes(int count, Work work, std::chrono::milliseconds stuck_after, Replaced on_replaced,
             std::string role)
    : shared_(std::make_shared<Shared>()),
      stuck_after_(stuck_after),
      on_replaced_(std::move(on_replaced)) {
  shared_->work = std::move(work);
  shared_->role = std::move(role);
  for (int i = 0; i < std::max(count, 1); ++i) lanes_.push_back(std::make_shared<Lane>());
  for (auto& lane : lanes_) lane->thread = std::thread(drain, shared_, lane, 0);
  if (stuck_after_.count() > 0) watchdog_ = std::thread([this] { watch(); });
}

Lanes::~Lanes() {
  halt(true);
}

void Lanes::push(std::vector<broker::Delivery>& batch, const KeyOf& key_of) {
  sorted_.resize(lanes_.size());
  for (auto& delivery : batch) {
    sorted_[index_of(key_of(delivery))].push_back(std::move(delivery));
  }
  for (std::size_t i = 0; i < lanes_.size(); ++i) {
    if (sorted_[i].empty()) continue;
    Lane& lane = *lanes_[i];
    {
      std::lock_guard lock(lane.mutex);
      if (!lane.halted) {
        for (auto& delivery : sorted_[i]) lane.queue.push_back(std::move(delivery));
      }
    }
    sorted_[i].clear();
    lane.ready.notify_one();
  }
}

void Lanes::requeue(broker::Delivery delivery, std::string_view key) {
  // Not index_of: its round-robin cursor belongs to push's thread.
  Lane& lane = *lanes_[std::hash<std::string_view>{}(key) % lanes_.size()];
  {
    std::lock_guard lock(lane.mutex);
    if (lane.halted) return;  // dropped unsettled, as halt() drops what is queued
    lane.queue.push_back(std::move(delivery));
  }
  lane.ready.notify_one();
}

void Lanes::halt(bool join) {
  {
    std::lock_guard lock(watch_mutex_);
    watch_stopping_ = true;
  }
  watch_stop_.notify_all();
  if (watchdog_.joinable()) watchdog_.join();
  for (auto& lane : lanes_) {
    std::deque<broker::Delivery> dropped;
    {
      std::lock_guard lock(lane->mutex);
      lane->halted = true;
      dropped.swap(lane->queue);
    }
    lane->ready.notify_all();
  }
  for (auto& lane : lanes_) {
    std::thread thread;
    {
      std::lock_guard lock(lane->mutex);
      thread = std::move(lane->thread);
    }
    if (!thread.joinable()) continue;
    if (join) {
      thread.join();
    } else {
      thread.detach();
    }
  }
}

void Lanes::watch_begin() {
  if (current.mutex == nullptr) return;
  std::lock_guard lock(*current.mutex);
  *current.watched_since = Clock::now();
}

bool Lanes::watch_end() {
  if (current.mutex == nullptr) return true;
  std::lock_guard lock(*current.mutex);
  if (*current.generation != current.started_for) return false;
  *current.watched_since = {};
  return true;
}

void Lanes::drain(std::shared_ptr<Shared> shared, std::shared_ptr<Lane> lane,
                  std::uint64_t generation) {
  name_this_thread("lane", shared->role);
  current = {&lane->mutex, &lane->generation, &lane->watched_since, generation};
  for (;;) {
    std::optional<broker::Delivery> delivery;
    {
      std::unique_lock lock(lane->mutex);
      lane->ready.wait(lock, [&] {
        return lane->halted || lane->generation != generation || !lane->queue.empty();
      });
      if (lane->halted || lane->generation != generation) break;
      delivery.emplace(std::move(lane->queue.front()));
      lane->queue.pop_front();
    }
    shared->work(*delivery);
    delivery.reset();
    std::lock_guard lock(lane->mutex);
    if (lane->generation != generation) break;  // replaced meanwhile: the lane is not ours
  }
  std::lock_guard lock(lane->mutex);
  if (lane->generation != generation) --shared->abandoned_running;
}

void Lanes::watch() {
  name_this_thread("watchdog", shared_->role);
  // Checked a few times per limit, so a stuck lane is replaced within about 1.25 limits.
  const auto period =
      std::clamp(stuck_after_ / 4, std::chrono::milliseconds(10), std::chrono::milliseconds(1000));
  std::unique_lock stop_lock(watch_mutex_);
  while (!watch_stop_.wait_for(stop_lock, period, [&] { return watch_stopping_; })) {
    for (auto& lane : lanes_) {
      {
        std::lock_guard lock(lane->mutex);
        const auto since = lane->watched_since;
        if (lane->halted || since == Clock::time_point{} || Clock::now() - since < stuck_after_) {
          continue;
        }
        ++lane->generation;
        lane->watched_since = {};
        ++shared_->abandoned_running;
        lane->thread.detach();
        lane->thread = std::thread(drain, shared_, lane, lane->generation);
      }
      if (on_replaced_) on_replaced_();
    }
  }
}

}  // namespace fleet::runtime
