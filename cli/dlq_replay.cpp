// fleet dlq replay: republish selected dead letters to their original subject (or --to), then
// remove each from the DLQ once its publish was confirmed.
#include <charconv>
#include <iostream>
#include <string_view>

#include <nlohmann/json.hpp>

#include "dlq_commands.hpp"
#include "fleet/cli/application.hpp"
#include "fleet/dlq/replay.hpp"
#include "terminal.hpp"

namespace fleet::cli {
namespace {

struct ReplayOptions {
  DlqOptions dlq;
  FilterOptions filter;
  std::string to;
  std::string rate;  // "500" or "500/s"
  std::string edit;
  std::uint64_t max_replays = 3;
  bool dry_run = false;
  bool yes = false;
  bool force = false;
  bool json = false;
};

double parse_rate(std::string text) {
  if (text.empty()) return 0;
  if (text.ends_with("/s")) text.resize(text.size() - 2);
  double rate = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), rate);
  if (ec != std::errc() || end != text.data() + text.size() || rate < 0) {
    throw CommandError("--rate: '" + text + "' is not a rate (500 or 500/s)", 2);
  }
  return rate;
}

// With `json`, one object: {"dry_run": true, "would_replay": N, "would_skip": N, "would_fail": N,
// "entries": [{"sequence", "action": "replay" | "skip" | "fail", and "subject", "type", "id",
// "replay" (the replay count it would carry) or "reason"}]}.
void dry_run(const std::vector<dlq::DeadLetter>& entries, const dlq::ReplayOptions& replay,
             bool json) {
  const auto& registry = application().event_types;
  std::uint64_t publish = 0, skip = 0, fail = 0;
  auto planned = nlohmann::json::array();
  for (const auto& entry : entries) {
    const auto plan = dlq::plan_replay(entry, replay, registry);
    const std::string seq = "seq " + std::to_string(entry.sequence);
    nlohmann::json item = {{"sequence", entry.sequence}};
    switch (plan.action) {
      case dlq::Planned::Action::publish:
        ++publish;
        item.update({{"action", "replay"},
                     {"subject", plan.message.subject},
                     {"type", entry.type},
                     {"id", entry.id},
                     {"replay", entry.replay_count + 1}});
        if (!json) {
          std::cout << "would replay " << seq << " -> " << plan.message.subject << " ("
                    << entry.type << " " << entry.id << ", replay " << entry.replay_count + 1
                    << ")\n";
        }
        break;
      case dlq::Planned::Action::skip:
        ++skip;
        item.update({{"action", "skip"}, {"reason", plan.reason}});
        if (!json) std::cout << "would skip " << seq << ": " << plan.reason << "\n";
        break;
      case dlq::Planned::Action::fail:
        ++fail;
        item.update({{"action", "fail"}, {"reason", plan.reason}});
        if (!json) std::cout << "would fail " << seq << ": " << plan.reason << "\n";
        break;
    }
    planned.push_back(std::move(item));
  }
  if (json) {
    std::cout << nlohmann::json{{"dry_run", true},
                                {"would_replay", publish},
                                {"would_skip", skip},
                                {"would_fail", fail},
                                {"entries", std::move(planned)}}
                     .dump()
              << "\n";
    return;
  }
  std::cout << "dry run: would replay " << publish << ", skip " << skip << ", fail " << fail
            << "; nothing changed\n";
}

void print_counts(const dlq::Counts& counts, bool json, std::string_view note = "") {
  if (json) {
    std::cout << nlohmann::json{{"replayed", counts.done},
                                {"skipped", counts.skipped},
                                {"failed", counts.failed},
                                {"errors", counts.errors}}
                     .dump()
              << "\n";
    return;
  }
  std::cout << "replayed " << counts.done << ", skipped " << counts.skipped << ", failed "
            << counts.failed << note << "\n";
}

void run(const ReplayOptions& options) {
  const dlq::Filter filter = to_filter(options.filter);
  dlq::ReplayOptions replay{
      .to = options.to, .max_replays = options.max_replays, .force = options.force};
  if (!options.edit.empty()) {
    replay.edit = nlohmann::json::parse(options.edit, nullptr, false);
    if (replay.edit->is_discarded()) throw CommandError("--edit: not valid JSON", 2);
  }
  const double rate = parse_rate(options.rate);

  if (!options.yes && !options.dry_run && !stdin_is_terminal()) {
    throw CommandError("refusing to replay without --yes (not a terminal)", 2);
  }
  auto transport = connect_or_throw(options.dlq.nats);
  auto store = open_store(*transport, options.dlq);
  ProgressBar bar("replaying");
  const dlq::ReplayRun run{.rate = rate,
                           .progress = [&](auto done, auto total) { bar.update(done, total); }};
  const auto& registry = application().event_types;
  dlq::Counts counts;
  if (options.yes && !options.dry_run) {
    // Nobody to ask: publish while reading, so a deep DLQ neither waits for a full read nor
    // sits in memory.
    counts = dlq::replay_matching(*transport, *store, filter, options.dlq.subject_prefix, replay,
                                  registry, run);
  } else {
    const auto entries = load(*store, options.dlq, filter);
    if (options.dry_run) return dry_run(entries, replay, options.json);
    if (entries.empty()) return print_counts({}, options.json, " (nothing matched)");
    const std::string what = std::to_string(entries.size()) + " dead letters to " +
                             (options.to.empty() ? "their original subjects" : options.to);
    if (!confirm("Replay " + what + "?")) throw CommandError("replay cancelled", 1);
    counts = dlq::replay(*transport, *store, entries, replay, registry, run);
  }
  bar.finish();
  for (const auto& error : counts.errors) std::cerr << "fleet: " << error << "\n";
  print_counts(counts, options.json);
  if (counts.scan_failed) throw CommandError("reading " + options.dlq.stream + " stopped early");
  if (counts.failed > 0) {
    throw CommandError(std::to_string(counts.failed) + " entries were not replayed");
  }
}

}  // namespace

void add_dlq_replay_command(CLI::App& dlq) {
  auto options = std::make_shared<ReplayOptions>();
  auto* command = dlq.add_subcommand(
      "replay",
      "Republish dead letters (body and event headers kept, failure headers dropped) and remove "
      "each from the DLQ once the broker confirmed it");
  add_dlq_options(*command, options->dlq);
  add_filter_options(*command, options->filter);
  command->add_option("--to", options->to, "Publish here instead of the original subject");
  command->add_option("--rate", options->rate, "Entries per second, e.g. 500/s (default: no cap)");
  command->add_option("--edit", options->edit,
                      "JSON merge patch (RFC 7386) applied to each payload before replay");
  command
      ->add_option("--max-replays", options->max_replays,
                   "Skip events already replayed this many times")
      ->capture_default_str();
  command->add_flag("--dry-run", options->dry_run, "Print what would happen; change nothing");
  command->add_flag("--yes,-y", options->yes, "Do not ask for confirmation");
  command->add_flag("--force", options->force, "Replay past the --max-replays loop guard");
  command->add_flag(
      "--json", options->json,
      "One JSON object: replayed, skipped, failed, errors (with --dry-run: the plan)");
  command->callback([options] { run(*options); });
}

}  // namespace fleet::cli
