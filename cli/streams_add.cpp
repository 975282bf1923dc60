// fleet streams add NAME --subjects 'a.>' [--replicas N] [--max-age 7d]: creates a stream (a
// topic on Kafka) like `nats stream add`. An existing stream with the same subjects is left as it
// is; one with other subjects is an error rather than silently rewritten.
#include <algorithm>
#include <chrono>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "broker_options.hpp"
#include "streams_commands.hpp"

namespace fleet::cli {
namespace {

struct AddOptions {
  BrokerOptions broker;
  std::string name;
  std::vector<std::string> subjects;
  int replicas = 0;  // 0 = --stream-replicas when given, else 1
  std::string max_age = "0";
  bool json = false;
};

// "7d", "12h", "30m", "45s", "1h30m"; "0" = keep forever.
std::chrono::milliseconds parse_age(const std::string& text) {
  if (text == "0") return std::chrono::milliseconds{0};
  std::chrono::milliseconds total{0};
  std::size_t at = 0;
  while (at < text.size()) {
    std::size_t used = 0;
    long long count = 0;
    try {
      count = std::stoll(text.substr(at), &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || count < 0 || at + used >= text.size()) {
      throw CommandError("--max-age " + text + ": expected e.g. 7d, 12h, 30m, 90s or 0", 2);
    }
    at += used;
    switch (text[at++]) {
      case 'd':
        total += std::chrono::hours(24 * count);
        break;
      case 'h':
        total += std::chrono::hours(count);
        break;
      case 'm':
        total += std::chrono::minutes(count);
        break;
      case 's':
        total += std::chrono::seconds(count);
        break;
      default:
        throw CommandError("--max-age " + text + ": expected e.g. 7d, 12h, 30m, 90s or 0", 2);
    }
  }
  return total;
}

std::string join(const std::vector<std::string>& parts) {
  std::string joined;
  for (const auto& part : parts) joined += (joined.empty() ? "" : ",") + part;
  return joined;
}

// {"stream": NAME, "subjects": [...], "created": true | false (it existed already)}
void report(const AddOptions& options, const std::string& name,
            const std::vector<std::string>& subjects, bool created) {
  if (options.json) {
    std::cout
        << nlohmann::json{{"stream", name}, {"subjects", subjects}, {"created", created}}.dump()
        << "\n";
    return;
  }
  std::cout << (created ? "created stream " : "stream ") << name
            << (created ? " (subjects " : " exists (subjects ") << join(subjects) << ")\n";
}

void run(const AddOptions& options) {
  broker::StreamConfig stream{
      .name = options.name, .subjects = options.subjects, .max_age = parse_age(options.max_age)};
  if (options.replicas > 0) stream.replicas = options.replicas;
  auto transport = connect_or_throw(options.broker);
  auto streams = transport->streams();
  if (!streams) throw CommandError("cannot list streams: " + streams.error().message);
  for (const auto& existing : *streams) {
    if (existing.name != stream.name) continue;
    auto have = existing.subjects, want = stream.subjects;
    std::sort(have.begin(), have.end());
    std::sort(want.begin(), want.end());
    if (have != want) {
      throw CommandError("stream " + stream.name + " exists with subjects " +
                         join(existing.subjects) + "; remove it first (fleet streams rm " +
                         stream.name + ") or pick another name");
    }
    return report(options, stream.name, existing.subjects, false);
  }
  if (auto created = transport->ensure_stream(stream); !created) {
    throw CommandError("cannot create stream " + stream.name + ": " + created.error().message);
  }
  report(options, stream.name, stream.subjects, true);
}

}  // namespace

void add_streams_add_command(CLI::App& streams) {
  auto options = std::make_shared<AddOptions>();
  auto* command = streams.add_subcommand(
      "add",
      "Create a stream capturing the given subjects (on Kafka: a topic and its registry "
      "entry)");
  add_broker_options(*command, options->broker);
  command->add_option("name", options->name, "Stream name, e.g. ORDERS")->required();
  command
      ->add_option("--subjects", options->subjects,
                   "Subjects it captures, wildcards allowed ('orders.>'); repeat or comma-separate")
      ->required()
      ->delimiter(',');
  command
      ->add_option("--replicas", options->replicas,
                   "Copies on a NATS cluster (default: --stream-replicas, else 1)")
      ->check(CLI::Range(1, 5));
  command
      ->add_option("--max-age", options->max_age,
                   "Drop messages older than this: 7d, 12h, 30m, 90s; 0 = keep forever")
      ->capture_default_str();
  command->add_flag("--json", options->json,
                    "One JSON object: stream, subjects, created (false: it existed already)");
  command->callback([options] { run(*options); });
}

}  // namespace fleet::cli
