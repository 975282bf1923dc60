// Deliveries waiting for asynchronous broker confirmations before they are settled: first their
// follow-up events, then their inbox entry. A lane hands the delivery over and moves on to its
// next message at once, so many deliveries share each broker round trip instead of every lane
// waiting one round trip per message.
//
// await() starts a stage's operations, one Ticket per operation; each ticket is answered
// exactly once, from any thread. Once every ticket answered ok, one failed (its error), or
// `timeout` passed since the operations were started (Errc::timeout), the delivery is handed to
// `next` on this component's own thread, which may await again with it (the next stage). Each
// stage ends exactly once: an answer that arrives after its timeout was reported is ignored.
// Deliveries still waiting when this is destroyed are dropped unsettled (the broker redelivers
// them after the ack wait). The transport must outlive this object.
//
// Cost per stage: one allocation (the entry). A ticket is one pointer, so a callback holding it
// fits in std::function's inline storage: no allocation per operation.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "fleet/broker/delivery.hpp"
#include "fleet/broker/message.hpp"
#include "fleet/runtime/state_write.hpp"

namespace fleet::runtime {

// One delivery on its way to being settled, with what the worker carries from stage to stage.
struct Pending {
  enum class Stage { writes, follow_ups, inbox, held };
  broker::Delivery delivery;
  Stage stage = Stage::follow_ups;          // the stage that ends when `next` is called
  std::vector<StateWrite> writes;           // the handler's state writes, stored first
  std::vector<broker::Message> follow_ups;  // kept until stored: a failed publish is retried
  std::uint64_t round = 1;                  // publish attempts of the follow-ups so far
};

class Confirmations {
  struct Entry;

 public:
  using Next = std::function<void(Pending&, const Status&)>;

  // Answers one operation of a stage. Call it exactly once, from any thread; it never blocks
  // for long. Copying a ticket does not add an answer.
  class Ticket {
   public:
    void operator()(const Status& result) const;

   private:
    friend class Confirmations;
    explicit Ticket(Entry* entry) : entry_(entry) {}
    Entry* entry_;  // kept alive by its own reference until its last ticket answered
  };

  // `role` names the thread ("confirm <role>", thread_name.hpp).
  Confirmations(std::chrono::milliseconds timeout, Next next, std::string role = {});
  ~Confirmations();
  Confirmations(const Confirmations&) = delete;
  Confirmations& operator=(const Confirmations&) = delete;

  // Starts a stage: `start(pending, expect)` runs at once and takes one Ticket from expect() per
  // operation it starts. The stage's timeout counts from when `start` returned.
  template <class Start>
  void await(Pending pending, Start&& start) {
    auto entry = begin(std::move(pending));
    start(std::as_const(entry->pending), [&] { return expect(*entry); });
    started(entry);
  }
  // Holds `pending` and hands it to `next` (with an ok Status) on this component's thread after
  // `delay`: a stage retried later without blocking a lane.
  void after(Pending pending, std::chrono::milliseconds delay);
  // Makes every delivery held by after() due now (the worker is stopping).
  void hurry();

 private:
  using Clock = std::chrono::steady_clock;
  struct State;
  struct Entry {
    Pending pending;
    std::shared_ptr<State> state;  // answers may arrive after this component is gone
    std::shared_ptr<Entry> self;   // while tickets are out
    Clock::time_point deadline;
    std::size_t outstanding = 1;  // held by await() itself until every operation was started
    Status result;
    bool reported = false;  // handed to the thread (confirmed, failed or timed out)
  };
  struct State {
    std::mutex mutex;
    std::condition_variable wake;
    std::deque<std::shared_ptr<Entry>> ready;    // to hand on, in completion order
    std::deque<std::shared_ptr<Entry>> waiting;  // in deadline order (one timeout for all)
    std::multimap<Clock::time_point, std::shared_ptr<Entry>> held;  // after(), by due time
    bool stopping = false;
  };

  std::shared_ptr<Entry> begin(Pending pending);
  Ticket expect(Entry& entry);
  void started(const std::shared_ptr<Entry>& entry);
  static void answer(Entry& entry, const Status& result);
  void run();

  std::chrono::milliseconds timeout_;
  Next next_;
  std::shared_ptr<State> state_ = std::make_shared<State>();
  std::thread thread_;
};

}  // namespace fleet::runtime
