// What every `fleet dlq` subcommand shares: where the dead-letter stream is, the entry filters,
// and loading the selected entries.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "broker_options.hpp"
#include "fleet/broker/transport.hpp"
#include "fleet/dlq/filter.hpp"

namespace fleet::cli {

struct DlqOptions {
  BrokerOptions nats;
  std::string stream = "DLQ";
  std::string subject_prefix = "dlq.";
};

// As typed; to_filter checks them (a bad time is a usage error, exit 2).
struct FilterOptions {
  std::string subject, type, error, role, since, until;
  std::size_t limit = 0;
};

void add_dlq_options(CLI::App& command, DlqOptions& options);
void add_filter_options(CLI::App& command, FilterOptions& options);

dlq::Filter to_filter(const FilterOptions& options);

// The dead-letter stream's store, or CommandError (exit 1) naming the stream.
std::unique_ptr<broker::StreamStore> open_store(broker::Transport& transport,
                                                const DlqOptions& options);

std::vector<dlq::DeadLetter> load(broker::StreamStore& store, const DlqOptions& options,
                                  const dlq::Filter& filter);

}  // namespace fleet::cli
