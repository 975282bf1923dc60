// Upcasters: how a body written under an older schema version of a type becomes a body of the
// version this code knows. An event type lists them in `upcasters`; decoding runs the chain
// v(N) -> v(N+1) -> ... -> current automatically, on the body as a JSON object.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "fleet/error.hpp"

namespace fleet::schemas {

// One step of a type's history: turns a body of schema version `from` into one of `from + 1`.
// `body` is the decoded msgpack map as JSON (bin and ext as JSON binary values, so no byte is
// lost); the upcaster edits it in place. A failure is reported as a decode error of the event.
struct Upcaster {
  std::uint32_t from = 1;
  std::string_view what;  // e.g. "rename total to amount_cents"; shown by fleet dlq show
  Status (*apply)(nlohmann::json& body) = nullptr;
};

// A type's place in its history: the version this code writes and how older ones come up to it.
struct History {
  std::string_view type;
  std::uint32_t current = 1;
  std::span<const Upcaster> upcasters;
};

// The result of bringing a body up to the current version.
struct Upcasted {
  // The re-encoded body when upcasters ran; empty when the body already was current.
  std::optional<std::string> body;
  // "v1->v2: rename total to amount_cents", one per upcaster that ran, in order.
  std::vector<std::string> applied;
};

// "v1->v2: what" for display.
std::string describe(const Upcaster& upcaster);

}  // namespace fleet::schemas
