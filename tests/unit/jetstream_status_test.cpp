// How cnats failures become fleet errors: what is worth retrying decides whether a worker holds
// a message, a relay spends a row's attempt, or a saga stops asking how far a durable got.
#include <doctest/doctest.h>

#include "jetstream/status.hpp"

using fleet::Errc;
using fleet::broker::jetstream::to_error;

TEST_CASE("a cluster, stream or consumer without a leader is unavailable, so callers retry") {
  for (const jsErrCode code :
       {JSClusterNotAvailErr, JSClusterNotLeaderErr, JSStreamOfflineErr, JSConsumerOfflineErr}) {
    CAPTURE(static_cast<int>(code));
    const auto error = to_error(NATS_ERR, code, "publish to orders.placed");
    CHECK(error.code == Errc::unavailable);
    CHECK(error.retriable());
    // The same answer on an async publish's acknowledgement.
    const jsPubAckErr failure{.Msg = nullptr, .Err = NATS_ERR, .ErrCode = code, .ErrText = "x"};
    CHECK(to_error(failure, "publish to orders.placed").code == Errc::unavailable);
  }
  CHECK(to_error(NATS_NO_RESPONDERS, jsErrCode{}, "publish").code == Errc::unavailable);
  CHECK(to_error(NATS_TIMEOUT, jsErrCode{}, "publish").code == Errc::timeout);
}

TEST_CASE("a refusal the server means stays a refusal, and a missing stream is not found") {
  for (const jsErrCode code : {JSStreamMessageExceedsMaximumErr, JSStreamSealedErr}) {
    CAPTURE(static_cast<int>(code));
    const auto error = to_error(NATS_ERR, code, "publish to orders.placed");
    CHECK(error.code == Errc::rejected);
    CHECK_FALSE(error.retriable());
  }
  CHECK(to_error(NATS_NOT_FOUND, JSStreamNotFoundErr, "stream info").code == Errc::not_found);
  CHECK(to_error(NATS_ERR, JSConsumerNotFoundErr, "consumer info").code == Errc::not_found);
}
