#include "status.hpp"

#include <string>

namespace fleet::broker::jetstream {
namespace {

// JSStreamWrongLastSequenceErr: a publish's expected last subject sequence (a KV
// compare-and-set) did not match. Not in cnats 3.4.1's jsErrCode list.
constexpr int wrong_last_sequence = 10071;

Errc classify(natsStatus status, jsErrCode js_code) {
  switch (status) {
    case NATS_TIMEOUT:
      return Errc::timeout;
    case NATS_NO_SERVER:
    case NATS_CONNECTION_CLOSED:
    case NATS_CONNECTION_DISCONNECTED:
    case NATS_STALE_CONNECTION:
    case NATS_NOT_YET_CONNECTED:
    // No JetStream stream listens on the subject (or JetStream is down). Retriable: the stream
    // may be created or the server may come back.
    case NATS_NO_RESPONDERS:
    // The reconnect buffer is full while the connection is down.
    case NATS_INSUFFICIENT_BUFFER:
      return Errc::unavailable;
    case NATS_NOT_FOUND:
      return Errc::not_found;
    case NATS_INVALID_ARG:
    case NATS_INVALID_SUBJECT:
    case NATS_INVALID_TIMEOUT:
    case NATS_MAX_PAYLOAD:
      return Errc::invalid_argument;
    default:
      break;
  }
  switch (js_code) {
    case JSStreamNotFoundErr:
    case JSConsumerNotFoundErr:
      return Errc::not_found;
    // The cluster, the stream or the consumer has no leader right now (an election, servers
    // away): the request was understood and may succeed later.
    case JSClusterNotAvailErr:
    case JSClusterNotLeaderErr:
    case JSStreamOfflineErr:
    case JSConsumerOfflineErr:
      return Errc::unavailable;
    default:
      break;
  }
  if (static_cast<int>(js_code) == wrong_last_sequence) return Errc::conflict;
  // A JetStream API error: the server understood the request and refused it.
  if (js_code != 0 || status == NATS_NOT_PERMITTED) return Errc::rejected;
  return Errc::internal;
}

// cnats prefixes its last-error text with the source location: "(jsm.c:1033): stream ...".
std::string_view without_location(std::string_view detail) {
  if (!detail.starts_with('(')) return detail;
  const auto end = detail.find("): ");
  if (end == std::string_view::npos || end > 40) return detail;
  return detail.substr(end + 3);
}

std::string describe(std::string_view what, natsStatus status, const char* detail) {
  std::string text(what);
  text += ": ";
  const std::string_view status_text = natsStatus_GetText(status);
  const std::string_view shown = without_location(detail != nullptr ? detail : "");
  // The detail often repeats the status text; show it once.
  text += shown.empty() ? status_text : shown;
  return text;
}

}  // namespace

Error to_error(natsStatus status, jsErrCode js_code, std::string_view what) {
  natsStatus last_status = NATS_OK;
  const char* last = nats_GetLastError(&last_status);
  // The thread's last error may be left over from an earlier call; use it only if it matches.
  if (last_status != status) last = nullptr;
  return Error{classify(status, js_code), describe(what, status, last)};
}

Error to_error(const jsPubAckErr& failure, std::string_view what) {
  return Error{classify(failure.Err, failure.ErrCode),
               describe(what, failure.Err, failure.ErrText)};
}

}  // namespace fleet::broker::jetstream
