// The demo domain's deterministic rules, so every order's outcome can be checked afterwards.
// Each field can be set from the environment (named beside it) of every demo worker process.
#pragma once

#include <cstdint>
#include <string>

namespace fleet::demo {

struct Rules {
  std::int64_t amount_limit_cents = 50'000;      // payment declines more (FLEET_DEMO_AMOUNT_LIMIT)
  std::string refused_region = "antarctica";     // shipping refuses it (FLEET_DEMO_REFUSED_REGION)
  std::uint32_t stock_per_sku = 1'000;           // inventory's start stock (FLEET_DEMO_STOCK)
  double fault_rate = 0.0;                       // chance a participant attempt fails, retryable
                                                 // (FLEET_DEMO_FAULT_RATE)
  std::int64_t step_timeout_ms = 10'000;         // per saga step, from its command's delivery
                                                 // (FLEET_DEMO_STEP_TIMEOUT_MS)
  std::int64_t step_start_timeout_ms = 300'000;  // how long a step's command may wait for a
                                                 // participant (FLEET_DEMO_STEP_START_TIMEOUT_MS)
  // How long inventory remembers an order's hold, to take a redelivered reserve or a late
  // release once: longer than a saga can run (its steps' start timeouts and timeouts). A hold is
  // remembered for at least this long after its last change, and forgotten by twice this while
  // its SKU keeps being written (FLEET_DEMO_HOLD_RETENTION_MS).
  std::int64_t hold_retention_ms = 3'600'000;
  std::int64_t step_work_ms = 0;  // each participant command takes this long, simulated work
                                  // that lets queues form (FLEET_DEMO_STEP_WORK_MS)
  // A downstream outage on demand: while this file exists, the steps of `outage_roles` fail
  // with error class "downstream" (FLEET_DEMO_OUTAGE_FILE; FLEET_DEMO_OUTAGE_ROLES, a
  // comma-separated list). `touch` it to start the outage, `rm` it to end it.
  std::string outage_file;
  std::string outage_roles = "payment";

  static Rules from_env();
};

}  // namespace fleet::demo
