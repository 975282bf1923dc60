// fleet-test-worker: a worker binary whose roles misbehave on purpose, for the worker integration
// tests. Every role reads bench.Payload events from "tests.<role>.>" on stream TESTS and records
// each effect as one line "<event id> <seq> <pid> <attempt>\n" appended (one write()) to the
// file named by FLEET_TEST_EFFECTS.
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>

#include "fleet/runtime/worker_main.hpp"
#include "fleet/schemas/events/bench.hpp"

namespace {

using fleet::runtime::Context;
using fleet::runtime::Outcome;
using fleet::schemas::Payload;
using namespace std::chrono_literals;

void record(const Payload& event, const Context& context) {
  static const int fd = [] {
    const char* path = std::getenv("FLEET_TEST_EFFECTS");
    if (path == nullptr) throw std::runtime_error("FLEET_TEST_EFFECTS is not set");
    return ::open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  }();
  const std::string line = context.event().id + " " + std::to_string(event.seq) + " " +
                           std::to_string(::getpid()) + " " + std::to_string(context.attempt()) +
                           "\n";
  if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
    throw std::runtime_error("cannot append to FLEET_TEST_EFFECTS");
  }
}

// The number after `prefix` in `data` ("fail:2" -> 2), or 0.
std::uint64_t number_after(const std::string& data, std::string_view prefix) {
  if (!data.starts_with(prefix)) return 0;
  std::uint64_t value = 0;
  std::from_chars(data.data() + prefix.size(), data.data() + data.size(), value);
  return value;
}

using Handle = std::function<Outcome(const Payload&, Context&)>;

// FLEET_TEST_HOLD_AFTER=N with FLEET_TEST_GATE=PATH: once this process recorded N effects, each
// further handler call waits (before its effect) until PATH exists. A test holds work in flight
// that way, e.g. to send SIGTERM while handlers are running.
void hold_at_gate() {
  static const std::uint64_t after = [] {
    const char* text = std::getenv("FLEET_TEST_HOLD_AFTER");
    return text != nullptr ? std::strtoull(text, nullptr, 10) : 0;
  }();
  static std::atomic<std::uint64_t> seen = 0;
  if (after == 0 || seen.fetch_add(1) < after) return;
  const char* gate = std::getenv("FLEET_TEST_GATE");
  if (gate == nullptr) throw std::runtime_error("FLEET_TEST_HOLD_AFTER needs FLEET_TEST_GATE");
  while (::access(gate, F_OK) != 0) std::this_thread::sleep_for(10ms);
}

Outcome record_ok(const Payload& event, Context& context) {
  hold_at_gate();
  record(event, context);
  return Outcome::ok();
}

Outcome flaky(const Payload& event, Context& context) {
  if (context.attempt() <= number_after(event.data, "fail:")) {
    return Outcome::retry("failing on purpose on attempt " + std::to_string(context.attempt()));
  }
  return record_ok(event, context);
}

Outcome permanent(const Payload& event, Context& context) {
  if (event.data == "bad") return Outcome::permanent("bad on purpose");
  return record_ok(event, context);
}

// A deployed bug: every event fails permanently while FLEET_TEST_BROKEN is set; the "fixed"
// deployment is the same role started without it.
Outcome broken(const Payload& event, Context& context) {
  static const bool is_broken = [] {
    const char* flag = std::getenv("FLEET_TEST_BROKEN");
    return flag != nullptr && *flag != '\0';
  }();
  if (is_broken) return Outcome::permanent("broken deployment (FLEET_TEST_BROKEN)");
  return record_ok(event, context);
}

Outcome crash(const Payload& event, Context& context) {
  if (event.data == "crash") {
    // Let the work running beside this one settle, so only the pill itself keeps coming back.
    std::this_thread::sleep_for(300ms);
    std::abort();
  }
  return record_ok(event, context);
}

Outcome slow(const Payload& event, Context& context) {
  const auto until =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(number_after(event.data, ""));
  while (std::chrono::steady_clock::now() < until) {
    if (context.past_deadline()) return Outcome::retry("stopped at the deadline");
    std::this_thread::sleep_for(100ms);
    context.heartbeat();
  }
  return record_ok(event, context);
}

Outcome ordered(const Payload& event, Context& context) {
  record(event, context);
  std::this_thread::sleep_for(3ms);
  return Outcome::ok();
}

// A participant whose downstream is out while the file named by FLEET_TEST_DOWNSTREAM_DOWN exists
// (the test creates and removes it mid-run): failures of class "downstream", for the breaker.
Outcome downstream(const Payload& event, Context& context) {
  const char* flag = std::getenv("FLEET_TEST_DOWNSTREAM_DOWN");
  if (flag != nullptr && ::access(flag, F_OK) == 0) {
    return Outcome::retry("downstream unavailable (FLEET_TEST_DOWNSTREAM_DOWN)", "downstream");
  }
  return record_ok(event, context);
}

// Records with the start time (Unix ms) as a fifth field, for the rate-limit tests.
Outcome paced(const Payload& event, Context& context) {
  static const int fd = [] {
    const char* path = std::getenv("FLEET_TEST_EFFECTS");
    if (path == nullptr) throw std::runtime_error("FLEET_TEST_EFFECTS is not set");
    return ::open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  }();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  const std::string line = context.event().id + " " + std::to_string(event.seq) + " " +
                           std::to_string(::getpid()) + " " + std::to_string(context.attempt()) +
                           " " + std::to_string(ms) + "\n";
  if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
    throw std::runtime_error("cannot append to FLEET_TEST_EFFECTS");
  }
  return Outcome::ok();
}

Outcome throws(const Payload&, Context&) {
  throw std::runtime_error("thrown on purpose");
}

fleet::runtime::Role role(std::string name, std::string description, Handle handle) {
  const std::string subject = "tests." + name + ".>";
  return {
      .name = name,
      .description = std::move(description),
      .bindings = [name, subject, handle](fleet::broker::Transport&,
                                          const fleet::runtime::RoleSettings& settings)
          -> fleet::Result<std::vector<fleet::runtime::Binding>> {
        return std::vector<fleet::runtime::Binding>{
            settings.apply({.role = name,
                            .stream = "TESTS",
                            .subject = subject,
                            .handler = fleet::runtime::typed<Payload>(handle)})};
      },
      .streams = {{.name = "TESTS", .subjects = {"tests.>"}}},
  };
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<fleet::runtime::Role> roles = {
      role("record", "records every event", record_ok),
      role("flaky", "retryable failure while attempt <= N for data \"fail:N\"", flaky),
      role("permanent", "permanent failure for data \"bad\"", permanent),
      role("broken", "permanent failure while FLEET_TEST_BROKEN is set", broken),
      role("crash", "aborts the process for data \"crash\"", crash),
      role("slow", "sleeps data ms, heartbeating; stops at its deadline", slow),
      role("ordered", "records, then sleeps 3 ms", ordered),
      role("throws", "throws std::runtime_error", throws),
      role("downstream", "class downstream failure while FLEET_TEST_DOWNSTREAM_DOWN names a file",
           downstream),
      role("paced", "records with the start time in Unix ms", paced),
  };
  return fleet::runtime::worker_main(argc, argv, "fleet-test-worker", roles);
}
