// The shared NATS flags (workers/flags/): how a program's writes reach the socket.
#include <doctest/doctest.h>

#include <cstdlib>
#include <vector>

#include "fleet/flags/nats.hpp"

namespace {

// Parses `args` (after the program name) into a fresh Config, as fleet-worker does.
fleet::broker::jetstream::Config parse(std::vector<const char*> args) {
  CLI::App app;
  fleet::broker::jetstream::Config config;
  fleet::flags::add_nats_flags(app, config);
  args.insert(args.begin(), "fleet-worker");
  app.parse(static_cast<int>(args.size()), args.data());
  return config;
}

}  // namespace

TEST_CASE("nats flags: writes are gathered by cnats' flusher unless --nats-send-asap is given") {
  ::unsetenv("FLEET_NATS_SEND_ASAP");
  CHECK_FALSE(parse({}).send_asap);
  CHECK(parse({"--nats-send-asap"}).send_asap);
}

TEST_CASE("nats flags: FLEET_NATS_SEND_ASAP=1 sends at once, =0 gathers") {
  ::setenv("FLEET_NATS_SEND_ASAP", "1", 1);
  CHECK(parse({}).send_asap);
  ::setenv("FLEET_NATS_SEND_ASAP", "0", 1);
  CHECK_FALSE(parse({}).send_asap);
  ::unsetenv("FLEET_NATS_SEND_ASAP");
}
