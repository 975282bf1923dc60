// The checks every append makes before touching the database.
#pragma once

#include "fleet/error.hpp"
#include "fleet/outbox/event.hpp"

namespace fleet::outbox {

inline Status check_event(const OutboxEvent& event) {
  if (event.subject.empty()) return fail(Errc::invalid_argument, "outbox event has no subject");
  if (event.meta.id.empty()) return fail(Errc::invalid_argument, "outbox event has no id");
  if (event.meta.type.empty()) return fail(Errc::invalid_argument, "outbox event has no type");
  return {};
}

}  // namespace fleet::outbox
