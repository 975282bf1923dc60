// For doctest cases that need a PostgreSQL server: true (with a visible SKIPPED note) when this
// machine has no PostgreSQL server binaries, so the case can return instead of failing.
#pragma once

#include <doctest/doctest.h>

#include <iostream>

#include "postgres_server.hpp"

namespace fleet::test {

inline bool skip_without_postgres() {
  if (PostgresServer::available()) return false;
  std::cerr << "\n*** SKIPPED: PostgreSQL server binaries not found in "
            << PostgresServer::bin_dir()
            << " (install Debian package `postgresql` or set FLEET_PG_BIN) ***\n\n";
  MESSAGE("SKIPPED: no PostgreSQL server binaries");
  return true;
}

}  // namespace fleet::test
