// A handler is a function from one event (envelope) and its context to an Outcome; middleware
// is a function that wraps a handler (Watermill's shape). Typed handlers decode the body first,
// at the envelope's schema version (older versions run the type's upcasters); a body that does
// not decode, or one of a version newer than this code knows, is a permanent failure with error
// class "decode".
#pragma once

#include <functional>
#include <string>

#include "fleet/runtime/context.hpp"
#include "fleet/runtime/outcome.hpp"
#include "fleet/schemas/codec.hpp"
#include "fleet/schemas/envelope.hpp"

namespace fleet::runtime {

using Handler = std::function<Outcome(const schemas::Envelope&, Context&)>;
using Middleware = std::function<Handler(Handler)>;

template <schemas::Event T>
Handler typed(std::function<Outcome(const T&, Context&)> handle) {
  return [handle = std::move(handle)](const schemas::Envelope& envelope, Context& context) {
    if (envelope.meta.type != T::type_name) {
      return Outcome::permanent(
          "expected type " + std::string(T::type_name) + ", got " + envelope.meta.type, "decode");
    }
    auto event = schemas::decode<T>(envelope.meta.schema_version, envelope.body);
    if (!event) return Outcome::permanent(event.error().message, "decode");
    return handle(*event, context);
  };
}

// Applies middleware so that the first in the list is the outermost.
Handler chain(Handler handler, const std::vector<Middleware>& middleware);

}  // namespace fleet::runtime
