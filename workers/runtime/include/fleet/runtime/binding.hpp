// One handler bound to one subject through one durable consumer. All processes of a role share
// the durable, so adding a process adds throughput.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "fleet/runtime/handler.hpp"
#include "fleet/runtime/retry_policy.hpp"

namespace fleet::broker {
class Delivery;
}

namespace fleet::runtime {

struct Binding {
  std::string role;     // e.g. "payment"; names the durable unless `durable` is set
  std::string stream;   // stream the subject lives in, e.g. "ORDERS"
  std::string subject;  // wildcards allowed, e.g. "orders.*.placed"
  Handler handler;
  std::vector<Middleware> middleware;  // outermost first; wrapped around `handler`
  RetryPolicy retry;
  std::string durable;     // "" = role
  int concurrency = 8;     // lanes handling messages in parallel in this process
  int max_in_flight = 64;  // fetched deliveries waiting for or in a handler, per process
  // Handled deliveries waiting for the broker's confirmations (their state writes, follow-ups
  // and inbox entry stored) before they are acked, per process, beside max_in_flight: their
  // round trips overlap with the next deliveries' handling. 0 = they keep their max_in_flight
  // place until acked.
  int max_settling = 64;
  int max_ack_pending = 1'000;  // server-side cap over all processes of the durable
  std::chrono::milliseconds ack_wait{30'000};
  std::chrono::milliseconds timeout{0};  // per handler attempt; 0 = none (see middleware.hpp)
  bool inbox = true;                     // skip events this role already handled (see inbox.hpp)
  // Admission: asked by the fetch thread before each fetch, how many more deliveries this
  // binding may take now (a cap on active sagas, an open circuit breaker, a rate limit...).
  // 0 = none for now: messages wait in the stream, unattempted, and the fetcher asks again
  // within `admission_poll`. Unset = no limit beyond max_in_flight. Called on the fetch
  // thread only; must not block.
  std::function<std::size_t()> admission;
  std::chrono::milliseconds admission_poll{20};
  // Hold: asked by the fetch thread for each fetched delivery, how long it is to wait before a
  // handler may take it (a timer not yet due). The fetch thread holds it that long, unsettled,
  // and hands the batch on in fetch order, fetching nothing meanwhile: for messages that come
  // due in the order they were published (timers of one delay), each is handled once, when due,
  // instead of being deferred back to the broker and delivered again. A hold of ack_wait / 2 or
  // more is not held (the broker would deliver it again meanwhile). Held deliveries count in
  // max_in_flight; a stop hands them back to the broker for the rest of their hold. Unset = no
  // hold.
  std::function<std::chrono::milliseconds(const broker::Delivery&)> hold_for;

  std::string durable_name() const { return durable.empty() ? role : durable; }
};

}  // namespace fleet::runtime
