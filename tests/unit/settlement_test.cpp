// How a delivery is settled, decided without a broker (fleet/runtime/settlement.hpp).
#include <doctest/doctest.h>

#include "fleet/runtime/settlement.hpp"

namespace {

using fleet::runtime::after_handling;
using fleet::runtime::before_handling;
using fleet::runtime::InboxAnswer;
using fleet::runtime::Outcome;
using fleet::runtime::RetryPolicy;
using Action = fleet::runtime::Settlement::Action;
using namespace std::chrono_literals;

const RetryPolicy policy{.max_attempts = 3};

}  // namespace

TEST_CASE("a delivery past max attempts is dead-lettered as poison without running the handler") {
  auto settled = before_handling(4, policy, InboxAnswer::new_event);
  REQUIRE(settled.has_value());
  CHECK(settled->action == Action::dead_letter);
  CHECK(settled->error_class == "poison");
  CHECK(settled->reason ==
        "delivered 4 times (max attempts 3); earlier workers crashed or timed out on it");
  CHECK_FALSE(before_handling(3, policy, InboxAnswer::none).has_value());
}

TEST_CASE("an event the inbox knows is acked as a duplicate, even past max attempts") {
  for (std::uint64_t attempt : {1u, 3u, 9u}) {
    auto settled = before_handling(attempt, policy, InboxAnswer::handled);
    REQUIRE(settled.has_value());
    CHECK(settled->action == Action::ack);
  }
}

TEST_CASE("an unreadable inbox holds the delivery without spending an attempt, unless poison") {
  auto settled = before_handling(1, policy, InboxAnswer::unavailable);
  REQUIRE(settled.has_value());
  CHECK(settled->action == Action::hold);
  CHECK_FALSE(settled->handler_failed);
  CHECK(settled->reason == "inbox unavailable");
  CHECK(before_handling(4, policy, InboxAnswer::unavailable)->action == Action::dead_letter);
}

TEST_CASE("a new event runs its handler") {
  CHECK_FALSE(before_handling(1, policy, InboxAnswer::new_event).has_value());
  CHECK_FALSE(before_handling(1, policy, InboxAnswer::none).has_value());
}

TEST_CASE("success acks at once only when there is nothing to store first") {
  CHECK(after_handling(Outcome::ok(), 1, policy, false, false, 0ms).action == Action::ack);
  CHECK(after_handling(Outcome::ok(), 1, policy, true, false, 0ms).action == Action::publish);
  CHECK(after_handling(Outcome::ok(), 1, policy, false, true, 0ms).action == Action::publish);
}

TEST_CASE("a retryable failure is redelivered after the backoff until the last attempt") {
  const auto failure = Outcome::retry("db down", "io");
  auto first = after_handling(failure, 1, policy, false, false, 400ms);
  CHECK(first.action == Action::redeliver);
  CHECK(first.delay == 400ms);
  CHECK(first.handler_failed);
  CHECK(first.error_class == "io");
  CHECK(first.reason == "db down");
  auto last = after_handling(failure, 3, policy, false, false, 400ms);
  CHECK(last.action == Action::dead_letter);
  CHECK(last.error_class == "io");
  CHECK(last.reason == "db down");
}

TEST_CASE("a permanent failure is dead-lettered on its first attempt") {
  auto settled =
      after_handling(Outcome::permanent("bad sku", "validation"), 1, policy, true, true, 100ms);
  CHECK(settled.action == Action::dead_letter);
  CHECK(settled.error_class == "validation");
  CHECK(settled.reason == "bad sku");
}

TEST_CASE("defer redelivers after the handler's delay and is not a failure") {
  auto settled = after_handling(Outcome::defer(5s), 3, policy, false, false, 100ms);
  CHECK(settled.action == Action::redeliver);
  CHECK(settled.delay == 5s);
  CHECK_FALSE(settled.handler_failed);
}

TEST_CASE("in progress leaves the delivery unsettled with its ack wait restarted") {
  CHECK(after_handling(Outcome::in_progress(), 1, policy, false, false, 100ms).action ==
        Action::extend);
}

TEST_CASE("an unreachable dependency holds the delivery, even on its last attempt") {
  for (std::uint64_t attempt : {1u, 3u}) {
    auto settled = after_handling(Outcome::unavailable("kv: no responders", "store"), attempt,
                                  policy, false, false, 100ms);
    CHECK(settled.action == Action::hold);
    CHECK(settled.error_class == "store");
    CHECK(settled.reason == "kv: no responders");
    CHECK_FALSE(settled.handler_failed);
  }
}

TEST_CASE(
    "a store error is held when the store was unreachable, dead-lettered when the call was "
    "malformed, retried otherwise") {
  using fleet::Errc;
  using fleet::Error;
  for (Errc code : {Errc::unavailable, Errc::timeout}) {
    const auto outcome = Outcome::failed(Error{code, "no responders"}, "store");
    CHECK(outcome.kind == Outcome::Kind::unavailable);
    CHECK(outcome.error_class == "store");
  }
  for (Errc code : {Errc::rejected, Errc::io, Errc::internal, Errc::conflict}) {
    CHECK(Outcome::failed(Error{code, "x"}, "store").kind == Outcome::Kind::retry);
  }
  for (Errc code : {Errc::invalid_argument, Errc::decode}) {
    const auto outcome = Outcome::failed(Error{code, "invalid key"}, "store");
    CHECK(outcome.kind == Outcome::Kind::permanent);
    CHECK(outcome.error_class == "store");
  }
}
