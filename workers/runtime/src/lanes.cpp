#include "lanes.hpp"

#include <algorithm>

namespace fleet::runtime {

Lanes::Lanes(int count, Work work) : work_(std::move(work)) {
  for (int i = 0; i < std::max(count, 1); ++i) lanes_.push_back(std::make_unique<Lane>());
  for (auto& lane : lanes_) lane->thread = std::thread([this, l = lane.get()] { drain(*l); });
}

Lanes::~Lanes() {
  halt(true);
}

void Lanes::push(std::string_view key, broker::Delivery delivery) {
  const std::size_t index =
      key.empty() ? next_++ % lanes_.size() : std::hash<std::string_view>{}(key) % lanes_.size();
  Lane& lane = *lanes_[index];
  {
    std::lock_guard lock(lane.mutex);
    if (lane.halted) return;
    lane.queue.push_back(std::move(delivery));
  }
  lane.ready.notify_one();
}

void Lanes::halt(bool join) {
  for (auto& lane : lanes_) {
    {
      std::lock_guard lock(lane->mutex);
      lane->halted = true;
      lane->queue.clear();
    }
    lane->ready.notify_all();
  }
  for (auto& lane : lanes_) {
    if (!lane->thread.joinable()) continue;
    if (join) {
      lane->thread.join();
    } else {
      lane->thread.detach();
    }
  }
}

void Lanes::drain(Lane& lane) {
  for (;;) {
    std::unique_lock lock(lane.mutex);
    lane.ready.wait(lock, [&] { return lane.halted || !lane.queue.empty(); });
    if (lane.halted) return;
    broker::Delivery delivery = std::move(lane.queue.front());
    lane.queue.pop_front();
    lock.unlock();
    work_(delivery);
  }
}

}  // namespace fleet::runtime
