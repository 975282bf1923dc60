// Errors are values in fleet: every fallible call returns Result<T> or Status.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <version>

#if defined(__cpp_lib_expected)
#include <expected>
#else
// clang 14 cannot use libstdc++ 12's <expected> (it needs P0848); only the fuzz build hits this.
#include "fleet/detail/expected_fallback.hpp"
#endif

namespace fleet {

#if defined(__cpp_lib_expected)
template <class T, class E>
using Expected = std::expected<T, E>;
template <class E>
using Unexpected = std::unexpected<E>;
#else
template <class T, class E>
using Expected = detail::expected<T, E>;
template <class E>
using Unexpected = detail::unexpected<E>;
#endif

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
using Result = Expected<T, Error>;
using Status = Expected<void, Error>;

inline Unexpected<Error> fail(Errc code, std::string message) {
  return Unexpected<Error>(Error{code, std::move(message)});
}
// Passes an error on unchanged (works with the fallback expected too, unlike std::unexpected).
inline Unexpected<Error> fail(Error error) {
  return Unexpected<Error>(std::move(error));
}

}  // namespace fleet
