// Middleware that wraps handlers, one concern each (one source file each under src/middleware/).
// Every binding gets, innermost first: recover, timeout (when the binding sets one) and immediate
// retry. Bindings add their own on top (Binding::middleware, outermost first).
#pragma once

#include <chrono>
#include <functional>

#include "fleet/runtime/handler.hpp"
#include "fleet/runtime/retry_policy.hpp"

namespace fleet::runtime {

using SteadyNow = std::function<std::chrono::steady_clock::time_point()>;

// Exceptions become retryable failures with error class "exception" and the exception's text.
Middleware recover();

// Retries Outcome::retry up to policy.immediate_attempts times in total inside one delivery,
// discarding the follow-ups a failed attempt staged. Logs each retry at info.
Middleware immediate_retry(RetryPolicy policy);

// Gives each attempt `limit`: the context's deadline is set (cooperative handlers check
// Context::past_deadline() and stop early), and an attempt that returns after the limit fails
// as retryable with error class "timeout" whatever it returned — its staged follow-ups are
// discarded, so nothing it meant to publish escapes late. `now` is injected for tests.
Middleware timeout(std::chrono::milliseconds limit, SteadyNow now = std::chrono::steady_clock::now);

}  // namespace fleet::runtime
