// The order_fulfilment application's operator command: fleet's commands with the order events
// registered, plus its own `orders` (the order_summary read model) and `projection rebuild
// order_summary`. fleet-demo runs it for `fleet-demo <command> ...`.
#pragma once

#include <CLI/CLI.hpp>

#include "fleet/cli/application.hpp"

namespace fleet::cli {

void add_orders_command(CLI::App& app);
void add_projection_command(CLI::App& app);

}  // namespace fleet::cli

namespace order_fulfilment {

fleet::cli::Application operator_cli();

}  // namespace order_fulfilment
