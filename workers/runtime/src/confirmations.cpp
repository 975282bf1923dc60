#include "confirmations.hpp"

#include <algorithm>
#include <string>

#include "fleet/thread_name.hpp"

namespace fleet::runtime {

Confirmations::Confirmations(std::chrono::milliseconds timeout, Next next, std::string role)
    : timeout_(timeout), next_(std::move(next)) {
  thread_ = std::thread([this, role = std::move(role)] {
    name_this_thread("confirm", role);
    run();
  });
}

Confirmations::~Confirmations() {
  std::deque<std::shared_ptr<Entry>> ready, waiting;
  std::multimap<Clock::time_point, std::shared_ptr<Entry>> held;
  {
    std::lock_guard lock(state_->mutex);
    state_->stopping = true;
    ready.swap(state_->ready);
    waiting.swap(state_->waiting);
    held.swap(state_->held);
  }
  state_->wake.notify_all();
  thread_.join();
  // The deliveries are dropped here, unsettled; entries with tickets still out live on until
  // their last answer, which finds the component stopped and drops them too.
}

void Confirmations::Ticket::operator()(const Status& result) const {
  answer(*entry_, result);
}

void Confirmations::answer(Entry& entry, const Status& result) {
  std::shared_ptr<Entry> keep;  // destroyed after the lock is released
  State& state = *entry.state;
  {
    std::lock_guard lock(state.mutex);
    if (!result && entry.result) entry.result = result;
    if (--entry.outstanding > 0) return;
    keep = std::move(entry.self);
    if (entry.reported || state.stopping) return;
    entry.reported = true;
    state.ready.push_back(keep);
  }
  state.wake.notify_one();
}

std::shared_ptr<Confirmations::Entry> Confirmations::begin(Pending pending) {
  auto entry = std::make_shared<Entry>(Entry{.pending = std::move(pending), .state = state_});
  entry->self = entry;
  return entry;
}

Confirmations::Ticket Confirmations::expect(Entry& entry) {
  std::lock_guard lock(state_->mutex);
  ++entry.outstanding;
  return Ticket(&entry);
}

void Confirmations::started(const std::shared_ptr<Entry>& entry) {
  {
    std::lock_guard lock(state_->mutex);
    entry->deadline = Clock::now() + timeout_;
    if (!state_->stopping) state_->waiting.push_back(entry);
  }
  answer(*entry, {});  // every operation is started: release await()'s own count
}

void Confirmations::after(Pending pending, std::chrono::milliseconds delay) {
  const auto due = Clock::now() + delay;
  auto entry = std::make_shared<Entry>(Entry{.pending = std::move(pending), .state = state_});
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
      for (auto& entry : batch) next_(entry->pending, entry->result);
      batch.clear();  // a Delivery's last owner may be here: release it before re-locking
      lock.lock();
      continue;
    }
    if (!state.waiting.empty() && state.waiting.front()->deadline <= Clock::now()) {
      auto entry = state.waiting.front();
      state.waiting.pop_front();
      entry->reported = true;
      lock.unlock();
      next_(entry->pending, fail(Errc::timeout, "broker confirmations missing after " +
                                                    std::to_string(timeout_.count()) + " ms"));
      entry.reset();
      lock.lock();
      continue;
    }
    if (!state.held.empty() && state.held.begin()->first <= Clock::now()) {
      auto entry = std::move(state.held.begin()->second);
      state.held.erase(state.held.begin());
      lock.unlock();
      next_(entry->pending, {});
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
