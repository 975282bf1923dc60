// fleet schemas golden: freezes one event (JSON in) as the golden file of its type's current
// version, DIR/<type>/v<N>.msgpack. Never overwrites: a golden file is the old bytes, kept.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "broker_options.hpp"
#include "fleet/cli/application.hpp"
#include "fleet/schemas/golden.hpp"
#include "schemas_commands.hpp"

namespace fleet::cli {
namespace {

struct GoldenOptions {
  std::string dir = default_golden_dir;
  std::string type;
  std::string data;
  bool json = false;
};

void run(const GoldenOptions& options) {
  const auto& registry = application().event_types;
  const auto schema = registry.schema(options.type);
  if (!schema) throw CommandError("unknown event type '" + options.type + "'", 2);
  nlohmann::json document;
  try {
    document = nlohmann::json::parse(options.data);
  } catch (const nlohmann::json::parse_error& e) {
    throw CommandError(std::string("--data: invalid JSON: ") + e.what(), 2);
  }
  auto body = registry.from_json(options.type, document);
  if (!body) throw CommandError(body.error().message, 2);
  const auto path = schemas::golden_path(options.dir, options.type, schema->history.current);
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) {
    throw CommandError(path.string() + " already exists; golden files are never rewritten", 2);
  }
  std::filesystem::create_directories(path.parent_path(), ec);
  if (ec) throw CommandError("cannot create " + path.parent_path().string() + ": " + ec.message());
  std::ofstream out(path, std::ios::binary);
  out.write(body->data(), static_cast<std::streamsize>(body->size()));
  out.close();
  if (!out) throw CommandError("cannot write " + path.string());
  if (options.json) {
    std::cout << nlohmann::json{{"wrote", path.string()},
                                {"type", options.type},
                                {"schema_version", schema->history.current},
                                {"bytes", body->size()}}
                     .dump()
              << "\n";
  } else {
    std::cout << "wrote " << path.string() << " (" << body->size() << " bytes)\n";
  }
}

}  // namespace

void add_schemas_golden_command(CLI::App& schemas) {
  auto options = std::make_shared<GoldenOptions>();
  auto* command = schemas.add_subcommand(
      "golden", "Write one event (JSON) as the golden file of its type's current version");
  command->add_option("--type,-t", options->type, "Event type, e.g. orders.OrderPlaced")
      ->required();
  command->add_option("--data,-d", options->data, "The event as JSON")->required();
  command->add_option("--dir", options->dir, "Folder of golden files")->capture_default_str();
  command->add_flag("--json", options->json,
                    "One JSON object: wrote (the path), type, "
                    "schema_version, bytes");
  command->callback([options] { run(*options); });
}

}  // namespace fleet::cli
