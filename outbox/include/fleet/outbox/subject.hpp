// Subjects of outbox events: `domain.{domain}.{EventName}`, e.g. `domain.orders.OrderPlaced`.
#pragma once

#include <string>
#include <string_view>

#include "fleet/error.hpp"

namespace fleet::outbox {

// Builds `domain.{domain}.{event_name}`. Errc::invalid_argument when a part is empty or holds a
// character that would change the subject's shape on NATS ('.', '*', '>', whitespace).
Result<std::string> domain_subject(std::string_view domain, std::string_view event_name);

}  // namespace fleet::outbox
