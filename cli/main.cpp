// fleet — the operator's command line. Usage errors and failures are one line on stderr:
// exit 2 for bad usage, 1 for a failed operation.
#include <iostream>

#include <CLI/CLI.hpp>

#include "broker_options.hpp"
#include "commands.hpp"

int main(int argc, char** argv) {
  CLI::App app{"fleet: publish events, inspect streams and operate a fleet of workers"};
  app.require_subcommand(1);
  fleet::cli::add_publish_command(app);
  fleet::cli::add_streams_command(app);
  fleet::cli::add_orders_command(app);
  fleet::cli::add_projection_command(app);
  fleet::cli::add_status_command(app);
  fleet::cli::add_outbox_command(app);
  fleet::cli::add_dlq_command(app);
  fleet::cli::add_dev_kafka_command(app);
  fleet::cli::add_schemas_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "fleet: " << e.what() << " (see --help)\n";
    return 2;
  } catch (const fleet::cli::CommandError& e) {
    std::cerr << "fleet: error: " << e.what() << "\n";
    return e.exit_code;
  } catch (const std::exception& e) {
    std::cerr << "fleet: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
