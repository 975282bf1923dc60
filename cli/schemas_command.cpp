// fleet schemas: the event types this build knows, and whether old events still decode.
#include "commands.hpp"
#include "schemas_commands.hpp"

namespace fleet::cli {

void add_schemas_command(CLI::App& app) {
  auto* schemas = app.add_subcommand(
      "schemas", "Event schemas: list versions and upcasters, check golden files of old events");
  schemas->require_subcommand(1);
  add_schemas_list_command(*schemas);
  add_schemas_check_command(*schemas);
  add_schemas_golden_command(*schemas);
}

}  // namespace fleet::cli
