// fleet-worker: runs one role of the order-fulfilment demo.
//
//   fleet-worker --role orders|inventory|payment|shipping|order_summary [--nats URL] ...
//
// Every flag also comes from the environment (FLEET_ROLE, FLEET_NATS_URL, ...); the demo's
// rules from FLEET_DEMO_* (rules.hpp). `--help` lists the roles.
#include <iostream>

#include "fleet/runtime/worker_main.hpp"
#include "roles.hpp"

int main(int argc, char** argv) {
  fleet::demo::Rules rules;
  try {
    rules = fleet::demo::Rules::from_env();
  } catch (const std::exception& e) {
    std::cerr << "fleet-worker: " << e.what() << "\n";
    return 2;
  }
  return fleet::runtime::worker_main(argc, argv, "fleet-worker", fleet::demo::roles(rules));
}
