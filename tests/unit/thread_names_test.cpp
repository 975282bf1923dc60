// A running worker's threads say what they do and for which role, so `top -H` shows which
// stage of which role is busy (docs/operations.md, "Which thread is busy").
#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "eventually.hpp"
#include "fleet/broker/memory.hpp"
#include "fleet/runtime/handler.hpp"
#include "fleet/runtime/worker.hpp"
#include "thread_names.hpp"

namespace {

using namespace std::chrono_literals;

using fleet::test::thread_names;

// A worker running one binding of `role` (with a handler timeout, so its lanes have a
// watchdog) on the memory transport until destroyed.
struct Running {
  std::unique_ptr<fleet::broker::Transport> transport =
      fleet::broker::memory::connect(fleet::broker::memory::make_broker());
  fleet::runtime::Worker worker{*transport, {.fetch_wait = 20ms}};
  std::jthread thread;

  explicit Running(const std::string& role) {
    REQUIRE(transport->ensure_stream({.name = "NAMES", .subjects = {"names.>"}}).has_value());
    REQUIRE(
        worker
            .add({.role = role,
                  .stream = "NAMES",
                  .subject = "names.>",
                  .handler = [](const fleet::schemas::Envelope&,
                                fleet::runtime::Context&) { return fleet::runtime::Outcome::ok(); },
                  .concurrency = 2,
                  .timeout = 1s})
            .has_value());
    thread = std::jthread([this](std::stop_token stop) { (void)worker.run(stop); });
  }
};

}  // namespace

TEST_CASE("a running worker's threads are named after their stage and role") {
  const Running running("bill");
  CHECK(fleet::test::eventually([] {
    const auto names = thread_names();
    return names.contains("fetch bill") && names.contains("lane bill") &&
           names.contains("confirm bill") && names.contains("watchdog bill");
  }));
}

TEST_CASE("a long role name is cut to the 15 characters a thread name holds") {
  const Running running("order-summary-projection");
  CHECK(fleet::test::eventually([] { return thread_names().contains("lane order-summ"); }));
}
