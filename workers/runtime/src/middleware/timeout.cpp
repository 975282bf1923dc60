#include "fleet/runtime/middleware.hpp"

namespace fleet::runtime {

Middleware timeout(std::chrono::milliseconds limit, SteadyNow now) {
  return [limit, now](Handler next) -> Handler {
    return
        [limit, now, next = std::move(next)](const schemas::Envelope& envelope, Context& context) {
          const auto started = now();
          context.set_deadline(started + limit);
          Outcome outcome = next(envelope, context);
          const auto elapsed = now() - started;
          if (elapsed <= limit) return outcome;
          const auto took = std::chrono::ceil<std::chrono::milliseconds>(elapsed);
          context.discard_follow_ups();
          std::string message = "handler took " + std::to_string(took.count()) + " ms (timeout " +
                                std::to_string(limit.count()) + " ms)";
          if (!outcome.succeeded() && !outcome.message.empty()) message += ": " + outcome.message;
          return Outcome::retry(std::move(message), "timeout");
        };
  };
}

}  // namespace fleet::runtime
