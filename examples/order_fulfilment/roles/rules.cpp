#include "rules.hpp"

#include <cstdlib>
#include <stdexcept>

namespace fleet::demo {
namespace {

template <class T>
void read(const char* name, T& field) {
  const char* text = std::getenv(name);
  if (text == nullptr || *text == '\0') return;
  try {
    if constexpr (std::is_same_v<T, std::string>) {
      field = text;
    } else if constexpr (std::is_floating_point_v<T>) {
      field = std::stod(text);
    } else {
      field = static_cast<T>(std::stoll(text));
    }
  } catch (const std::exception&) {
    throw std::invalid_argument(std::string(name) + ": not a number: '" + text + "'");
  }
}

}  // namespace

Rules Rules::from_env() {
  Rules rules;
  read("FLEET_DEMO_AMOUNT_LIMIT", rules.amount_limit_cents);
  read("FLEET_DEMO_REFUSED_REGION", rules.refused_region);
  read("FLEET_DEMO_STOCK", rules.stock_per_sku);
  read("FLEET_DEMO_FAULT_RATE", rules.fault_rate);
  read("FLEET_DEMO_STEP_TIMEOUT_MS", rules.step_timeout_ms);
  read("FLEET_DEMO_STEP_START_TIMEOUT_MS", rules.step_start_timeout_ms);
  read("FLEET_DEMO_STEP_WORK_MS", rules.step_work_ms);
  read("FLEET_DEMO_HOLD_RETENTION_MS", rules.hold_retention_ms);
  read("FLEET_DEMO_OUTAGE_FILE", rules.outage_file);
  read("FLEET_DEMO_OUTAGE_ROLES", rules.outage_roles);
  return rules;
}

}  // namespace fleet::demo
