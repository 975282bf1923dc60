// A real PostgreSQL 15 for integration tests: initdb into a private temp dir, the server on a
// free loopback port (trust auth, user postgres), stopped and removed when the object goes away.
// As root, initdb and postgres run as the `postgres` system user (PostgreSQL refuses root).
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>

namespace fleet::test {

class PostgresServer {
 public:
  // Where the server binaries are: $FLEET_PG_BIN, else /usr/lib/postgresql/15/bin.
  static std::filesystem::path bin_dir();
  // True when initdb and postgres are installed there. Tests that need the server skip loudly
  // when this is false.
  static bool available();

  PostgresServer();  // initdb + start; throws std::runtime_error naming the log on failure
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  // libpq URI of the `postgres` database as user `postgres`.
  std::string url() const;
  int port() const { return port_; }

  void start();  // same data dir and port; waits until the server accepts connections
  void stop();   // fast shutdown (SIGINT) and wait

 private:
  int port_;
  std::filesystem::path dir_;
  pid_t pid_ = -1;
};

}  // namespace fleet::test
