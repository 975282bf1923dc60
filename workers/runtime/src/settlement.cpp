#include "fleet/runtime/settlement.hpp"

namespace fleet::runtime {

using Action = Settlement::Action;

std::optional<Settlement> before_handling(std::uint64_t attempt, const RetryPolicy& policy,
                                          InboxAnswer inbox) {
  // A copy of an event handled before is a duplicate, however often it was delivered.
  if (inbox == InboxAnswer::handled) {
    return Settlement{.action = Action::ack, .reason = "already handled"};
  }
  if (attempt > static_cast<std::uint64_t>(policy.max_attempts)) {
    return Settlement{.action = Action::dead_letter,
                      .error_class = "poison",
                      .reason = "delivered " + std::to_string(attempt) + " times (max attempts " +
                                std::to_string(policy.max_attempts) +
                                "); earlier workers crashed or timed out on it"};
  }
  if (inbox == InboxAnswer::unavailable) {
    return Settlement{
        .action = Action::hold, .error_class = "inbox", .reason = "inbox unavailable"};
  }
  return std::nullopt;
}

Settlement after_handling(const Outcome& outcome, std::uint64_t attempt, const RetryPolicy& policy,
                          bool has_follow_ups, bool inbox, std::chrono::milliseconds backoff) {
  switch (outcome.kind) {
    case Outcome::Kind::success:
      return {.action = has_follow_ups || inbox ? Action::publish : Action::ack};
    case Outcome::Kind::defer:
      return {.action = Action::redeliver, .delay = outcome.delay, .reason = "deferred"};
    case Outcome::Kind::in_progress:
      return {.action = Action::extend};
    case Outcome::Kind::unavailable:
      return {
          .action = Action::hold, .error_class = outcome.error_class, .reason = outcome.message};
    case Outcome::Kind::permanent:
      return {.action = Action::dead_letter,
              .error_class = outcome.error_class,
              .reason = outcome.message};
    case Outcome::Kind::retry:
      if (attempt >= static_cast<std::uint64_t>(policy.max_attempts)) {
        return {.action = Action::dead_letter,
                .error_class = outcome.error_class,
                .reason = outcome.message};
      }
      return {.action = Action::redeliver,
              .delay = backoff,
              .error_class = outcome.error_class,
              .reason = outcome.message,
              .handler_failed = true};
  }
  return {.action = Action::redeliver, .delay = backoff, .reason = "unknown outcome"};
}

}  // namespace fleet::runtime
