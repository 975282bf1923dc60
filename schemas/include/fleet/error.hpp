// Errors are values in fleet: every fallible call returns Result<T> or Status.
#pragma once

#include <expected>
#include <string>
#include <string_view>

namespace fleet {

enum class Errc {
  invalid_argument,  // the caller passed something malformed (bad JSON, bad subject, bad config)
  decode,            // bytes from the outside could not be decoded
  not_found,         // stream, consumer, key or entry does not exist
  timeout,           // the operation did not finish in time; retrying is reasonable
  unavailable,       // the broker or store is unreachable; retrying later is reasonable
  rejected,          // the broker refused the request (limits, permissions, wrong stream)
  conflict,          // optimistic concurrency lost (e.g. a KV revision moved on)
  io,                // local I/O failed
  internal,          // a bug or an unexpected library status
};

std::string_view to_string(Errc code);

struct Error {
  Errc code = Errc::internal;
  std::string message;

  // True when the same call may succeed later without anybody changing anything.
  bool retriable() const {
    return code == Errc::timeout || code == Errc::unavailable || code == Errc::conflict;
  }
  // "timeout: fetch on ORDERS/payment did not answer".
  std::string describe() const;
};

template <class T>
using Result = std::expected<T, Error>;
using Status = std::expected<void, Error>;

inline std::unexpected<Error> fail(Errc code, std::string message) {
  return std::unexpected(Error{code, std::move(message)});
}

}  // namespace fleet
