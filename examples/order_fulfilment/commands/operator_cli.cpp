#include <cstdlib>
#include <filesystem>

#include "order_commands.hpp"
#include "order_fulfilment/event_types.hpp"
#include "order_fulfilment/order_summary.hpp"

namespace order_fulfilment {
namespace {

// Sagas by status from the order_summary read model, for `fleet-demo status --summary-db`.
std::optional<std::map<std::string, std::uint64_t>> saga_counts(const std::string& path) {
  if (!std::filesystem::exists(path)) return std::nullopt;
  auto summary = fleet::projection::OrderSummary::open(path);
  if (!summary) return std::nullopt;
  auto rows = summary->query({});
  if (!rows) return std::nullopt;
  std::map<std::string, std::uint64_t> by_status;
  for (const auto& row : *rows) ++by_status[row.status];
  return by_status;
}

}  // namespace

fleet::cli::Application operator_cli() {
  return {
      .name = "fleet-demo",
      .description =
          "fleet-demo: fleet's commands for the order-fulfilment application (its "
          "event types registered), its read model and the demo run (fleet-demo "
          "without a command; fleet-demo --help)",
      .event_types = event_types(),
      .commands = {fleet::cli::add_orders_command, fleet::cli::add_projection_command},
      .saga_summary =
          fleet::cli::SagaSummary{
              .help = "order_summary read model for saga counts (env FLEET_ORDER_SUMMARY_DB)",
              .env = "FLEET_ORDER_SUMMARY_DB",
              .counts = saga_counts},
  };
}

}  // namespace order_fulfilment
