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

void Lanes::push(std::vector<broker::Delivery>& batch, const KeyOf& key_of) {
  sorted_.resize(lanes_.size());
  for (auto& delivery : batch) {
    const std::string_view key = key_of(delivery);
    const std::size_t index =
        key.empty() ? next_++ % lanes_.size() : std::hash<std::string_view>{}(key) % lanes_.size();
    sorted_[index].push_back(std::move(delivery));
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
  std::deque<broker::Delivery> taken;
  for (;;) {
    {
      std::unique_lock lock(lane.mutex);
      lane.ready.wait(lock, [&] { return lane.halted || !lane.queue.empty(); });
      if (lane.halted) return;
      taken.swap(lane.queue);  // the whole queue at once: one lock per batch, not per message
    }
    for (auto& delivery : taken) {
      if (lane.halted) break;  // the rest is dropped unsettled and comes back from the broker
      work_(delivery);
    }
    taken.clear();
  }
}

}  // namespace fleet::runtime
