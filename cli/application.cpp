#include "fleet/cli/application.hpp"

#include <iostream>

#include "broker_options.hpp"
#include "commands.hpp"

namespace fleet::cli {
namespace {

const Application* running = nullptr;

}  // namespace

const Application& application() {
  static const Application fleet_only;
  return running ? *running : fleet_only;
}

int run(const Application& application, int argc, char** argv) {
  running = &application;
  CLI::App app{application.description};
  app.require_subcommand(1);
  add_publish_command(app);
  add_streams_command(app);
  add_status_command(app);
  add_outbox_command(app);
  add_dlq_command(app);
  add_dev_kafka_command(app);
  add_schemas_command(app);
  for (const auto& add : application.commands) add(app);
  const std::string prefix = application.name + ": ";
  int code = 0;
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    code = app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    code = app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << prefix << e.what() << " (see --help)\n";
    code = 2;
  } catch (const CommandError& e) {
    std::cerr << prefix << "error: " << e.what() << "\n";
    code = e.exit_code;
  } catch (const std::exception& e) {
    std::cerr << prefix << "error: " << e.what() << "\n";
    code = 1;
  }
  running = nullptr;
  return code;
}

}  // namespace fleet::cli
