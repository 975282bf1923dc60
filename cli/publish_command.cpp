// fleet publish: JSON in, enveloped msgpack events out, every one confirmed by the broker.
// All input is parsed and encoded before the first publish, so bad input publishes nothing.
#include <atomic>
#include <chrono>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "broker_options.hpp"
#include "commands.hpp"
#include "fleet/broker/subject.hpp"
#include "fleet/cli/application.hpp"
#include "fleet/schemas/envelope.hpp"
#include "fleet/schemas/registry.hpp"
#include "suggested_stream.hpp"

namespace fleet::cli {
namespace {

struct PublishOptions {
  BrokerOptions nats;
  std::string subject;
  std::string type;
  std::string data;
  std::string file;
  std::uint64_t count = 1;
  double rate = 0;  // events per second; 0 = as fast as the broker acks
  std::string key;
  bool create_stream = false;
  bool json = false;
};

// One JSON document per input line; blank lines are skipped.
std::vector<nlohmann::json> read_lines(std::istream& in, const std::string& source) {
  std::vector<nlohmann::json> documents;
  std::string line;
  for (std::size_t number = 1; std::getline(in, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    try {
      documents.push_back(nlohmann::json::parse(line));
    } catch (const nlohmann::json::parse_error& e) {
      throw CommandError(source + ":" + std::to_string(number) + ": invalid JSON: " + e.what(), 2);
    }
  }
  return documents;
}

std::vector<nlohmann::json> read_input(const PublishOptions& options) {
  if (!options.data.empty()) {
    try {
      return {nlohmann::json::parse(options.data)};
    } catch (const nlohmann::json::parse_error& e) {
      throw CommandError(std::string("--data: invalid JSON: ") + e.what(), 2);
    }
  }
  if (!options.file.empty()) {
    std::ifstream in(options.file);
    if (!in) throw CommandError("cannot read " + options.file, 2);
    return read_lines(in, options.file);
  }
  return read_lines(std::cin, "stdin");
}

broker::Message to_message(const PublishOptions& options, const std::string& body,
                           std::uint32_t schema_version) {
  auto meta = schemas::new_metadata(options.type, schema_version);
  meta.ordering_key = options.key;
  broker::Message message;
  message.subject = options.subject;
  message.headers = schemas::to_headers(meta);
  message.body = body;
  message.dedup_id = meta.id;
  message.key = options.key;
  return message;
}

// On JetStream a subject no stream captures fails each publish with "no responders"; on Kafka
// with "no stream takes subject". Either way the user needs the command that fixes it. Returns
// the name of the stream it created, if it did.
std::string ensure_captured(broker::Transport& transport, const PublishOptions& options) {
  auto captured = transport.stream_for_subject(options.subject);
  if (!captured) return {};  // cannot ask (permissions?): the publish reports for itself
  if (*captured) return {};
  const auto stream = suggested_stream(options.subject);
  if (!options.create_stream) {
    throw CommandError("no stream captures subject " + options.subject + "; create one: " +
                       streams_add_command(stream) + " (or publish with --create-stream)");
  }
  if (auto created = transport.ensure_stream(stream); !created) {
    throw CommandError("cannot create stream " + stream.name + ": " + created.error().message);
  }
  if (!options.json) {
    std::cout << "created stream " << stream.name << " (subjects " << stream.subjects.front()
              << ")\n";
  }
  return stream.name;
}

void run(const PublishOptions& options) {
  const auto& registry = application().event_types;
  std::vector<std::string> bodies;
  for (const auto& document : read_input(options)) {
    auto body = registry.from_json(options.type, document);
    if (!body) {
      throw CommandError("event " + std::to_string(bodies.size() + 1) + ": " + body.error().message,
                         2);
    }
    bodies.push_back(std::move(*body));
  }
  if (bodies.empty()) throw CommandError("no input events (give --data, --file or stdin)", 2);
  // Bodies were checked against the current schema, so they are stamped with its version.
  const auto schema = registry.schema(options.type);
  const std::uint32_t schema_version = schema ? schema->history.current : 1;

  auto transport = connect_or_throw(options.nats);
  const std::string created_stream = ensure_captured(*transport, options);
  std::atomic<std::uint64_t> acked{0}, failed{0};
  std::string first_error;
  std::mutex error_mutex;
  auto on_ack = [&](const Result<broker::PublishAck>& ack) {
    if (ack) {
      acked.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    failed.fetch_add(1, std::memory_order_relaxed);
    std::lock_guard lock(error_mutex);
    if (first_error.empty()) first_error = ack.error().describe();
  };

  const auto start = std::chrono::steady_clock::now();
  std::uint64_t sent = 0;
  for (std::uint64_t round = 0; round < options.count; ++round) {
    for (const auto& body : bodies) {
      if (options.rate > 0) {
        std::this_thread::sleep_until(start +
                                      std::chrono::duration_cast<std::chrono::nanoseconds>(
                                          std::chrono::duration<double>(sent / options.rate)));
      }
      if (auto ok = transport->publish_async(to_message(options, body, schema_version), on_ack);
          !ok) {
        failed.fetch_add(1, std::memory_order_relaxed);
        std::lock_guard lock(error_mutex);
        if (first_error.empty()) first_error = ok.error().describe();
      }
      ++sent;
    }
  }
  auto flushed = transport->flush(std::chrono::seconds(30));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const auto per_second = static_cast<std::uint64_t>(sent / std::max(seconds, 1e-9));
  if (options.json) {
    nlohmann::json summary = {{"published", sent},
                              {"acked", acked.load()},
                              {"failed", failed.load()},
                              {"per_second", per_second}};
    if (!created_stream.empty()) summary["created_stream"] = created_stream;
    std::cout << summary.dump() << "\n";
  } else {
    std::cout << "published " << sent << ", acked " << acked.load() << ", failed " << failed.load()
              << " (" << per_second << "/s)\n";
  }
  if (!flushed) throw CommandError("not all publishes were confirmed: " + flushed.error().message);
  if (failed.load() > 0) {
    throw CommandError(std::to_string(failed.load()) + " publishes failed; first: " + first_error);
  }
}

}  // namespace

void add_publish_command(CLI::App& app) {
  auto options = std::make_shared<PublishOptions>();
  auto* command = app.add_subcommand(
      "publish",
      "Publish events: JSON from --data, --file or stdin (one JSON per line), encoded as the "
      "msgpack body of --type, each confirmed by the broker");
  add_broker_options(*command, options->nats);
  command->add_option("--subject,-s", options->subject, "Subject to publish to")
      ->required()
      ->check(CLI::Validator(
          [](const std::string& subject) { return broker::unpublishable(subject); }, "SUBJECT"));
  command->add_option("--type,-t", options->type, "Event type, e.g. orders.OrderPlaced")
      ->required();
  auto* data = command->add_option("--data,-d", options->data, "One event as JSON");
  command->add_option("--file,-f", options->file, "File with one JSON event per line")
      ->excludes(data);
  command->add_option("--count,-n", options->count, "Publish the input this many times")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  command->add_option("--rate", options->rate, "Events per second (0 = unlimited)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  command->add_option("--key,-k", options->key, "Ordering key (same key = handled in order)");
  command->add_flag("--create-stream", options->create_stream,
                    "When no stream captures the subject, create one named after its first "
                    "token (orders.placed -> ORDERS for 'orders.>') instead of failing");
  command->add_flag("--json", options->json,
                    "One JSON object: published, acked, failed, per_second (and created_stream)");
  command->callback([options] { run(*options); });
}

}  // namespace fleet::cli
