#include "confirmations.hpp"

#include <algorithm>
#include <string>

namespace fleet::runtime {

Confirmations::Confirmations(std::chrono::milliseconds timeout) : timeout_(timeout) {
  thread_ = std::thread([this] { run(); });
}

Confirmations::~Confirmations() {
  {
    std::lock_guard lock(state_->mutex);
    state_->stopping = true;
    state_->ready.clear();
    state_->waiting.clear();
    state_->held.clear();
  }
  state_->wake.notify_all();
  thread_.join();
}

void Confirmations::confirm(State& state, const std::shared_ptr<Entry>& entry,
                            const Status& result) {
  {
    std::lock_guard lock(state.mutex);
    if (!result && entry->result) entry->result = result;
    if (--entry->outstanding > 0 || entry->reported || state.stopping) return;
    entry->reported = true;
    state.ready.push_back(entry);
  }
  state.wake.notify_one();
}

void Confirmations::await(broker::Delivery delivery, const Start& start, Then then) {
  auto entry = std::make_shared<Entry>(Entry{.delivery = std::move(delivery),
                                             .then = std::move(then),
                                             .deadline = Clock::now() + timeout_});
  {
    std::lock_guard lock(state_->mutex);
    state_->waiting.push_back(entry);
  }
  std::weak_ptr<State> weak = state_;
  start([&]() -> Confirm {
    {
      std::lock_guard lock(state_->mutex);
      ++entry->outstanding;
    }
    return [weak, entry](const Status& result) {
      if (auto state = weak.lock()) confirm(*state, entry, result);
    };
  });
  confirm(*state_, entry, {});  // every operation is started: release await()'s own count
}

void Confirmations::after(broker::Delivery delivery, std::chrono::milliseconds delay, Then then) {
  const auto due = Clock::now() + delay;
  auto entry = std::make_shared<Entry>(
      Entry{.delivery = std::move(delivery), .then = std::move(then), .deadline = due});
  {
    std::lock_guard lock(state_->mutex);
    if (state_->stopping) return;
    state_->held.emplace(due, std::move(entry));
  }
  state_->wake.notify_one();
}

void Confirmations::hurry() {
  {
    std::lock_guard lock(state_->mutex);
    for (auto& [due, entry] : state_->held) state_->ready.push_back(std::move(entry));
    state_->held.clear();
  }
  state_->wake.notify_one();
}

void Confirmations::run() {
  auto& state = *state_;
  std::unique_lock lock(state.mutex);
  for (;;) {
    // Entries already reported leave the deadline queue lazily, from its front.
    while (!state.waiting.empty() && state.waiting.front()->reported) state.waiting.pop_front();
    if (state.stopping) return;
    if (!state.ready.empty()) {
      // Everything confirmed so far, in one go: one lock per batch, not per delivery.
      std::deque<std::shared_ptr<Entry>> batch;
      batch.swap(state.ready);
      lock.unlock();
      for (auto& entry : batch) entry->then(entry->delivery, entry->result);
      batch.clear();  // a Delivery's last owner may be here: release it before re-locking
      lock.lock();
      continue;
    }
    if (!state.waiting.empty() && state.waiting.front()->deadline <= Clock::now()) {
      auto entry = state.waiting.front();
      state.waiting.pop_front();
      entry->reported = true;
      lock.unlock();
      entry->then(entry->delivery,
                  fail(Errc::timeout, "broker confirmations missing after " +
                                          std::to_string(timeout_.count()) + " ms"));
      lock.lock();
      continue;
    }
    if (!state.held.empty() && state.held.begin()->first <= Clock::now()) {
      auto entry = std::move(state.held.begin()->second);
      state.held.erase(state.held.begin());
      lock.unlock();
      entry->then(entry->delivery, {});
      entry.reset();
      lock.lock();
      continue;
    }
    auto wake_at =
        state.waiting.empty() ? Clock::now() + timeout_ : state.waiting.front()->deadline;
    if (!state.held.empty()) wake_at = std::min(wake_at, state.held.begin()->first);
    state.wake.wait_until(lock, wake_at, [&] {
      return state.stopping || !state.ready.empty() ||
             (!state.held.empty() && state.held.begin()->first < wake_at);
    });
  }
}

}  // namespace fleet::runtime
