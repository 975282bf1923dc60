// fleet dlq: find, inspect, count, replay and purge dead letters.
#include "commands.hpp"
#include "dlq_commands.hpp"

namespace fleet::cli {

void add_dlq_command(CLI::App& app) {
  auto* dlq = app.add_subcommand(
      "dlq", "Dead letters: list, show, stats, replay (after fixing the cause), purge");
  dlq->require_subcommand(1);
  add_dlq_list_command(*dlq);
  add_dlq_show_command(*dlq);
  add_dlq_stats_command(*dlq);
  add_dlq_replay_command(*dlq);
  add_dlq_purge_command(*dlq);
}

}  // namespace fleet::cli
