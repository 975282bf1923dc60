#include <exception>

#include "fleet/runtime/middleware.hpp"

namespace fleet::runtime {

Middleware recover() {
  return [](Handler next) -> Handler {
    return [next = std::move(next)](const schemas::Envelope& envelope, Context& context) {
      try {
        return next(envelope, context);
      } catch (const std::exception& e) {
        return Outcome::retry(e.what(), "exception");
      } catch (...) {
        return Outcome::retry("unknown exception", "exception");
      }
    };
  };
}

}  // namespace fleet::runtime
