// The middleware every binding gets, innermost first: recover (exceptions become retryable
// failures with error class "exception") and immediate retry (a few in-process attempts before
// the message goes back to the broker). Bindings add their own on top.
#pragma once

#include "fleet/runtime/handler.hpp"
#include "fleet/runtime/retry_policy.hpp"

namespace fleet::runtime {

Middleware recover();
// Retries Outcome::retry up to policy.immediate_attempts times in total, discarding the
// follow-ups a failed attempt staged.
Middleware immediate_retry(RetryPolicy policy);

}  // namespace fleet::runtime
