#include "fleet/runtime/flow_control.hpp"

namespace fleet::runtime {

Admission all_of(Admission a, Admission b) {
  if (!a) return b;
  if (!b) return a;
  return [a = std::move(a), b = std::move(b)] {
    const std::size_t first = a();
    // The second is not asked when the first says none: asking may take a probe lease.
    return first == 0 ? first : std::min(first, b());
  };
}

void add_rate_limit(Binding& binding, std::shared_ptr<RateLimiter> limiter) {
  Middleware limit = [limiter](Handler next) -> Handler {
    return [limiter, next = std::move(next)](const schemas::Envelope& envelope, Context& context) {
      limiter->acquire(context);
      return next(envelope, context);
    };
  };
  binding.middleware.insert(binding.middleware.begin(), std::move(limit));
  binding.admission =
      all_of(std::move(binding.admission), [limiter] { return limiter->admission(); });
}

}  // namespace fleet::runtime
