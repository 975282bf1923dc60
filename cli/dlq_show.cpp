// fleet dlq show SEQ: every header, the schema version with the upcasters this build runs on it,
// and the payload as JSON (hex when it does not decode).
#include <iostream>

#include <nlohmann/json.hpp>

#include "dlq_commands.hpp"
#include "fleet/cli/application.hpp"
#include "fleet/schemas/registry.hpp"

namespace fleet::cli {
namespace {

struct ShowOptions {
  DlqOptions dlq;
  std::uint64_t sequence = 0;
  bool json = false;
};

std::string hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

void run(const ShowOptions& options) {
  auto transport = connect_or_throw(options.dlq.nats);
  auto store = open_store(*transport, options.dlq);
  auto stored = store->get(options.sequence);
  if (!stored) throw CommandError(stored.error().message);
  const auto entry = dlq::read_dead_letter(*stored, options.dlq.subject_prefix);

  nlohmann::json out{{"seq", entry.sequence},
                     {"subject", entry.message.subject},
                     {"dedup_id", entry.message.dedup_id},
                     {"headers", entry.message.headers}};
  // The payload as stored; "schema" says how this build decodes it (upcasters, or why not).
  const auto& registry = application().event_types;
  const auto schema = registry.describe(entry.type, entry.message.body, entry.schema_version);
  out["schema"] = schema;
  auto payload = registry.to_json(entry.type, entry.message.body, entry.schema_version);
  if (payload) {
    out["payload"] = *payload;
  } else {
    out["payload_hex"] = hex(entry.message.body);
    out["decode_error"] = payload.error().message;
  }
  if (options.json) {
    std::cout << out.dump(2) << "\n";
    return;
  }
  std::cout << "seq      " << entry.sequence << "\nsubject  " << entry.message.subject
            << "\n\nheaders\n";
  for (const auto& [name, value] : entry.message.headers) {
    std::cout << "  " << name << ": " << value << "\n";
  }
  std::cout << "\nschema   version " << entry.schema_version;
  if (!schema["current"].is_null()) std::cout << " (this build reads v" << schema["current"] << ")";
  for (const auto& upcaster : schema["upcasters"]) {
    std::cout << "\n  upcaster " << upcaster.get<std::string>();
  }
  std::cout << "\n";
  if (payload) {
    std::cout << "\npayload (" << entry.type << ")\n" << payload->dump(2) << "\n";
  } else {
    std::cout << "\npayload does not decode: " << payload.error().message << "\nraw ("
              << entry.message.body.size() << " bytes)\n"
              << hex(entry.message.body) << "\n";
  }
}

}  // namespace

void add_dlq_show_command(CLI::App& dlq) {
  auto options = std::make_shared<ShowOptions>();
  auto* command = dlq.add_subcommand("show", "Show one dead letter: headers and payload");
  add_dlq_options(*command, options->dlq);
  command->add_option("seq", options->sequence, "Sequence in the dead-letter stream")
      ->required()
      ->check(CLI::Validator(
          [](const std::string& text) -> std::string {
            const bool digits =
                !text.empty() && text.find_first_not_of("0123456789") == std::string::npos;
            if (!digits || text.find_first_not_of('0') == std::string::npos) {
              return "'" + text + "' is not a DLQ sequence (a positive integer)";
            }
            return {};
          },
          "SEQ"));
  command->add_flag("--json", options->json, "One JSON object");
  command->callback([options] { run(*options); });
}

}  // namespace fleet::cli
