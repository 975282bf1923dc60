// The one place where cnats failures become fleet::Error.
#pragma once

#include <nats/nats.h>

#include <expected>
#include <string_view>

#include "fleet/error.hpp"

namespace fleet::broker::jetstream {

// `what` names the operation ("publish to orders.created"). Reads the calling thread's cnats
// last-error text (for JetStream API errors that is the server's description), so call it on
// the thread that got `status`, right after the failing call.
Error to_error(natsStatus status, jsErrCode js_code, std::string_view what);

// An async publish failure reported to the ack handler; the text travels in `failure`.
Error to_error(const jsPubAckErr& failure, std::string_view what);

// fleet::Unexpected, not std::unexpected: the clang fuzz build compiles this too (error.hpp).
inline Unexpected<Error> fail(natsStatus status, jsErrCode js_code, std::string_view what) {
  return Unexpected<Error>(to_error(status, js_code, what));
}
inline Unexpected<Error> fail(natsStatus status, std::string_view what) {
  return fail(status, jsErrCode{}, what);
}

}  // namespace fleet::broker::jetstream
