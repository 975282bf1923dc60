// Deliveries waiting for asynchronous broker confirmations before they are settled: first their
// follow-up events, then their inbox entry. A lane hands the delivery over and moves on to its
// next message at once, so many deliveries share each broker round trip instead of every lane
// waiting one round trip per message.
//
// await() starts the operations; `then` runs on this component's own thread once every one of
// them confirmed (Status ok), one failed (its error), or `timeout` passed (Errc::timeout).
// `then` may await again with the same delivery (the next stage). Each stage ends exactly once:
// a confirmation that arrives after its timeout was reported is ignored. Deliveries still
// waiting when this is destroyed are dropped unsettled (the broker redelivers them after the ack
// wait). The transport must outlive this object.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "fleet/broker/delivery.hpp"

namespace fleet::runtime {

class Confirmations {
 public:
  // Called exactly once per started operation, from any thread; never blocks.
  using Confirm = std::function<void(const Status&)>;
  // Starts the stage's operations, taking one Confirm from `expect` per operation.
  using Start = std::function<void(const std::function<Confirm()>& expect)>;
  using Then = std::function<void(broker::Delivery&, const Status&)>;

  explicit Confirmations(std::chrono::milliseconds timeout);
  ~Confirmations();
  Confirmations(const Confirmations&) = delete;
  Confirmations& operator=(const Confirmations&) = delete;

  void await(broker::Delivery delivery, const Start& start, Then then);
  // Holds `delivery` and hands it to `then` (with an ok Status) on this component's thread after
  // `delay`: a stage retried later without blocking a lane.
  void after(broker::Delivery delivery, std::chrono::milliseconds delay, Then then);
  // Makes every delivery held by after() due now (the worker is stopping).
  void hurry();

 private:
  using Clock = std::chrono::steady_clock;
  struct Entry {
    broker::Delivery delivery;
    Then then;
    Clock::time_point deadline;
    std::size_t outstanding = 1;  // held by await() itself until every operation was started
    Status result;
    bool reported = false;  // handed to the thread (confirmed, failed or timed out)
  };
  // Shared with the confirmations, which may arrive after this object is gone.
  struct State {
    std::mutex mutex;
    std::condition_variable wake;
    std::deque<std::shared_ptr<Entry>> ready;    // to settle, in completion order
    std::deque<std::shared_ptr<Entry>> waiting;  // in deadline order (one timeout for all)
    std::multimap<Clock::time_point, std::shared_ptr<Entry>> held;  // after(), by due time
    bool stopping = false;
  };
  static void confirm(State& state, const std::shared_ptr<Entry>& entry, const Status& result);
  void run();

  std::chrono::milliseconds timeout_;
  std::shared_ptr<State> state_ = std::make_shared<State>();
  std::thread thread_;
};

}  // namespace fleet::runtime
