// fleet schemas list: every event type with its current version, fields and upcasters.
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "fleet/cli/application.hpp"
#include "fleet/schemas/registry.hpp"
#include "schemas_commands.hpp"

namespace fleet::cli {
namespace {

nlohmann::json to_json(const std::string& type, const schemas::Registry::Schema& schema) {
  auto upcasters = nlohmann::json::array();
  for (const auto& upcaster : schema.history.upcasters) upcasters.push_back(describe(upcaster));
  return {{"type", type},
          {"version", schema.history.current},
          {"required", schema.required},
          {"optional", schema.optional},
          {"upcasters", upcasters}};
}

void run(bool json) {
  const auto& registry = application().event_types;
  auto all = nlohmann::json::array();
  for (const auto& type : registry.types()) all.push_back(to_json(type, *registry.schema(type)));
  if (json) {
    std::cout << all.dump(2) << "\n";
    return;
  }
  for (const auto& entry : all) {
    std::cout << entry["type"].get<std::string>() << " v" << entry["version"] << "\n  required:";
    for (const auto& field : entry["required"]) std::cout << " " << field.get<std::string>();
    if (!entry["optional"].empty()) {
      std::cout << "\n  optional:";
      for (const auto& field : entry["optional"]) std::cout << " " << field.get<std::string>();
    }
    for (const auto& upcaster : entry["upcasters"]) {
      std::cout << "\n  upcaster " << upcaster.get<std::string>();
    }
    std::cout << "\n";
  }
}

}  // namespace

void add_schemas_list_command(CLI::App& schemas) {
  auto json = std::make_shared<bool>(false);
  auto* command = schemas.add_subcommand(
      "list", "Event types of this build: current schema version, fields, upcasters");
  command->add_flag("--json", *json, "One JSON array");
  command->callback([json] { run(*json); });
}

}  // namespace fleet::cli
