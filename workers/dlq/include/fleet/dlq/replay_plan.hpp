// What replaying one dead letter means, decided without a broker: the message to publish, or
// why the entry is skipped or fails.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "fleet/broker/message.hpp"
#include "fleet/dlq/dead_letter.hpp"
#include "fleet/schemas/registry.hpp"

namespace fleet::dlq {

struct ReplayOptions {
  std::string to;                      // "" = the original subject
  std::optional<nlohmann::json> edit;  // RFC 7386 merge patch for the payload's JSON view
  std::uint64_t max_replays = 3;       // loop guard: skip events replayed this often
  bool force = false;                  // replay past the loop guard
};

struct Planned {
  enum class Action { publish, skip, fail };
  Action action = Action::publish;
  broker::Message message;  // for publish
  std::string reason;       // for skip and fail
};

// The replayed message keeps the event's headers (Fleet-Id included, so handlers' inboxes still
// recognise it) and body, loses the Fleet-Dlq-* headers, and counts one more replay. Its broker
// dedup id is new for every dead-letter entry ("<id>.replay.<dlq sequence>"), so the duplicate
// window that dropped nothing of the original cannot drop the replay, while a replay re-run
// after a crash between publish and removal is dropped as the duplicate it is.
// With an edit, the patched JSON is re-encoded through `registry`; a result that does not fit
// the event's schema fails the entry.
Planned plan_replay(const DeadLetter& entry, const ReplayOptions& options,
                    const schemas::Registry& registry);
// The same, moving the entry's headers and body into the planned message.
Planned plan_replay(DeadLetter&& entry, const ReplayOptions& options,
                    const schemas::Registry& registry);

}  // namespace fleet::dlq
