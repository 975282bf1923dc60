// hello-worker as its README runs it: a real nats-server (the test fixture), the worker process,
// one greeting published with `fleet publish`. The worker prints it once and acks it.
#include <doctest/doctest.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "eventually.hpp"
#include "nats_server.hpp"
#include "process.hpp"
#include "worker_process.hpp"

using fleet::test::eventually;

namespace {

std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// The greeter durable's backlog: {pending, ack_pending}, or nullopt before it exists.
std::optional<std::pair<int, int>> greeter_backlog(const std::string& url) {
  auto listed = fleet::test::run({FLEET_CLI, "streams", "--json", "--nats", url});
  if (listed.exit_code != 0) return std::nullopt;
  for (const auto& stream : nlohmann::json::parse(listed.out)) {
    if (stream["name"] != "HELLO") continue;
    for (const auto& consumer : stream["consumers"]) {
      if (consumer["name"] == "greeter")
        return std::pair{consumer["pending"].get<int>(), consumer["ack_pending"].get<int>()};
    }
  }
  return std::nullopt;
}

}  // namespace

TEST_CASE("hello-worker prints the greeting published to it, once, and acks it") {
  fleet::test::NatsServer server;
  const auto dir = fleet::test::make_temp_dir("fleet-hello-worker");
  fleet::test::WorkerProcess worker({HELLO_WORKER, "--role", "greeter", "--nats", server.url()}, {},
                                    dir / "worker.log");

  // The worker creates the HELLO stream at start-up; until then `fleet publish` refuses (exit 1)
  // and publishes nothing, so this publishes exactly one greeting.
  fleet::test::RunResult published;
  REQUIRE_MESSAGE(eventually([&] {
                    published = fleet::test::run(
                        {FLEET_CLI, "publish", "--nats", server.url(), "--subject", "hello.world",
                         "--type", "hello.Greeting", "--data", R"({"name":"world"})"});
                    return published.exit_code == 0;
                  }),
                  published.err);
  CHECK(published.out.find("published 1, acked 1, failed 0") != std::string::npos);

  REQUIRE_MESSAGE(eventually([&] { return count(worker.log(), "hello, world (event ") == 1; }),
                  worker.log());
  // Handled means acked: nothing pending or waiting for an ack on the role's durable.
  CHECK_MESSAGE(eventually([&] {
                  return greeter_backlog(server.url()) == std::pair{0, 0};
                }),
                worker.log());
  CHECK(count(worker.log(), "hello, world (event ") == 1);

  worker.signal(SIGTERM);
  const auto exit = worker.wait(std::chrono::seconds(30));
  REQUIRE(exit.has_value());
  CHECK(exit->code == 0);
  std::filesystem::remove_all(dir);
}
