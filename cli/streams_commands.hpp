// The `fleet streams` subcommands (one file each): `add` and `rm`; the listing is
// streams_command.cpp.
#pragma once

#include <CLI/CLI.hpp>

namespace fleet::cli {

void add_streams_add_command(CLI::App& streams);
void add_streams_rm_command(CLI::App& streams);

}  // namespace fleet::cli
