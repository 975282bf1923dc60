// The outbox relay's metrics in the Prometheus text format (exposition format 0.0.4), served on
// `fleet outbox relay --metrics-addr`. Names and meanings: docs/operations.md, "Metrics, health
// and alerts".
#pragma once

#include <string>

#include "fleet/outbox/relay.hpp"
#include "fleet/outbox/store.hpp"

namespace fleet::outbox {

// Counters and the lag histogram from `stats`; the backlog gauges (pending and flagged rows, age
// of the oldest pending row at `now`) only when `backlog` is given, i.e. the database answered:
// a missing series says "unknown", never "empty".
std::string relay_metrics_text(const RelayStats& stats, const Counts* backlog, TimePoint now);

}  // namespace fleet::outbox
