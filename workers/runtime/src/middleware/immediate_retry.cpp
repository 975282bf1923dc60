#include "fleet/runtime/log.hpp"
#include "fleet/runtime/middleware.hpp"

namespace fleet::runtime {

Middleware immediate_retry(RetryPolicy policy) {
  return [policy](Handler next) -> Handler {
    return [policy, next = std::move(next)](const schemas::Envelope& envelope, Context& context) {
      Outcome outcome;
      for (int attempt = 1;; ++attempt) {
        outcome = next(envelope, context);
        if (outcome.kind != Outcome::Kind::retry || attempt >= policy.immediate_attempts) break;
        context.discard_follow_ups();
        log::write(spdlog::level::info, "retrying in process",
                   {{"event_id", envelope.meta.id},
                    {"role", context.role()},
                    {"try", attempt + 1},
                    {"error_class", outcome.error_class},
                    {"error", outcome.message}});
      }
      return outcome;
    };
  };
}

}  // namespace fleet::runtime
