// The orchestrator's decisions (workers/saga/machine.hpp), without broker or clock.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "fleet/saga/machine.hpp"
#include "fleet/schemas/codec.hpp"

namespace {

using fleet::saga::Decision;
using fleet::saga::SagaState;
using fleet::schemas::StepReply;
using fleet::schemas::StepTimer;
using Kind = Decision::Kind;

fleet::saga::Definition definition() {
  return {.name = "order_fulfilment",
          .subject_prefix = "saga.orders",
          .steps = {{.name = "inventory",
                     .command_subject = "inventory.reserve",
                     .compensation_subject = "inventory.release",
                     .timeout = std::chrono::milliseconds(1000)},
                    {.name = "payment",
                     .command_subject = "payment.charge",
                     .compensation_subject = "payment.refund",
                     .timeout = std::chrono::milliseconds(1000)},
                    {.name = "shipping",
                     .command_subject = "shipping.schedule",
                     .compensation_subject = "shipping.cancel",
                     .timeout = std::chrono::milliseconds(1000)}}};
}

// Drives one saga through decide(), keeping its state like the orchestrator would.
struct Saga {
  fleet::saga::Definition def = definition();
  std::optional<SagaState> state;
  std::vector<std::string> published;  // subjects of every output, in order
  std::int64_t now = 1'000'000;
  int ids = 0;

  Decision feed(const fleet::saga::Input& input, std::string id = {}) {
    if (id.empty()) id = "event-" + std::to_string(++ids);
    Decision d = fleet::saga::decide(def, state, id, input, now);
    if (d.kind == Kind::apply) state = d.state;
    for (const auto& out : d.outputs) published.push_back(out.subject);
    return d;
  }
  std::vector<fleet::saga::Output> start_outputs;
  Decision start() {
    auto d = feed(fleet::saga::Start{.saga_id = "o-1", .data = {'x'}});
    start_outputs = d.outputs;
    return d;
  }
  Decision reply(std::uint32_t step, std::string outcome, std::string reason = {}) {
    return feed(StepReply{.saga_id = "o-1", .step = step, .outcome = outcome, .reason = reason});
  }
  // The subjects published since the last call.
  std::vector<std::string> take() { return std::exchange(published, {}); }
};

}  // namespace

TEST_CASE("a saga whose steps all succeed runs them in order and completes") {
  Saga saga;
  CHECK(saga.start().kind == Kind::apply);
  CHECK(saga.take() == std::vector<std::string>{"saga.orders.lifecycle.started",
                                                "inventory.reserve", "saga.orders.timer"});
  // One timer per saga (the watchdog, published with the start), not one per step.
  saga.reply(0, "done");
  CHECK(saga.take() ==
        std::vector<std::string>{"saga.orders.lifecycle.step.completed", "payment.charge"});
  saga.reply(1, "done");
  CHECK(saga.take() ==
        std::vector<std::string>{"saga.orders.lifecycle.step.completed", "shipping.schedule"});
  saga.reply(2, "done");
  // The last step's success is the saga's "completed": one lifecycle event per transition.
  CHECK(saga.take() == std::vector<std::string>{"saga.orders.lifecycle.completed"});
  CHECK(saga.state->status == "completed");
  CHECK(saga.state->version == 4);  // started, 2 x step.completed, completed
}

TEST_CASE("a failing step compensates exactly the completed steps, in reverse order") {
  const std::vector<std::vector<std::string>> undo = {
      {}, {"inventory.release"}, {"payment.refund", "inventory.release"}};
  for (std::uint32_t failing = 0; failing < 3; ++failing) {
    CAPTURE(failing);
    Saga saga;
    saga.start();
    for (std::uint32_t s = 0; s < failing; ++s) saga.reply(s, "done");
    saga.take();
    saga.reply(failing, "failed", "no");
    std::vector<std::string> compensations;
    for (;;) {
      auto out = saga.take();
      std::string command;
      for (const auto& subject : out) {
        if (!subject.starts_with("saga.")) command = subject;
      }
      if (command.empty()) break;
      compensations.push_back(command);
      saga.reply(saga.state->step, "compensated");
    }
    CHECK(compensations == undo[failing]);
    CHECK(saga.state->status == "failed");
    CHECK(saga.state->reason == saga.def.steps[failing].name + ": no");
  }
}

TEST_CASE("a step timer defers until due, then compensates that step and the ones before") {
  Saga saga;
  saga.start();
  saga.reply(0, "done");
  saga.take();
  const StepTimer timer{.saga_id = "o-1", .step = 1, .due_ms = saga.now + 1000};
  auto early = saga.feed(timer, "timer-1");
  CHECK(early.kind == Kind::defer);
  CHECK(early.delay == std::chrono::milliseconds(1000));

  saga.now += 1000;
  CHECK(saga.feed(timer, "timer-1").kind == Kind::apply);
  CHECK(saga.take() == std::vector<std::string>{"saga.orders.lifecycle.step.failed",
                                                "saga.orders.lifecycle.compensating",
                                                "payment.refund"});
  CHECK(saga.state->reason == "payment: timed out");
  saga.reply(1, "compensated");
  CHECK(saga.take() == std::vector<std::string>{"inventory.release"});
  saga.reply(0, "compensated");
  CHECK(saga.take() == std::vector<std::string>{"saga.orders.lifecycle.compensated",
                                                "saga.orders.lifecycle.failed"});
}

TEST_CASE("the saga's one timer follows the pending step: deferred to its deadline, then due") {
  Saga saga;
  saga.start();
  auto decoded = fleet::schemas::decode<StepTimer>(saga.start_outputs.back().body);
  REQUIRE(decoded.has_value());
  const StepTimer watchdog = *decoded;
  CHECK(watchdog.step == fleet::saga::watchdog_step);
  CHECK(watchdog.due_ms == saga.now + 1000);

  // Step 0 answered after 600 ms: step 1 has until 1600 ms, so the timer, due at 1000 ms, waits.
  saga.now += 600;
  saga.reply(0, "done");
  saga.take();
  saga.now += 400;
  auto early = saga.feed(watchdog, "watchdog");
  CHECK(early.kind == Kind::defer);
  CHECK(early.delay == std::chrono::milliseconds(600));

  saga.now += 600;
  CHECK(saga.feed(watchdog, "watchdog").kind == Kind::apply);
  CHECK(saga.state->reason == "payment: timed out");
  CHECK(saga.take() == std::vector<std::string>{"saga.orders.lifecycle.step.failed",
                                                "saga.orders.lifecycle.compensating",
                                                "payment.refund"});
  // Compensating: the timer has retired, undo has no deadline.
  saga.now += 5000;
  CHECK(saga.feed(watchdog, "watchdog-again").kind == Kind::ignore);
}

TEST_CASE("the saga's timer retires when the saga ends in time") {
  Saga saga;
  saga.start();
  for (std::uint32_t s = 0; s < 3; ++s) saga.reply(s, "done");
  saga.now += 10'000;
  const StepTimer watchdog{
      .saga_id = "o-1", .step = fleet::saga::watchdog_step, .due_ms = saga.now - 9'000};
  CHECK(saga.feed(watchdog).kind == Kind::ignore);
  CHECK(saga.state->status == "completed");
  CHECK(saga.state->due_ms == 0);
}

TEST_CASE("replies and timers that arrive late are ignored with a reason") {
  Saga saga;
  saga.start();
  saga.reply(0, "done");
  auto late = saga.reply(0, "failed", "too late");
  CHECK(late.kind == Kind::ignore);
  CHECK(!late.note.empty());
  auto stale = saga.feed(StepTimer{.saga_id = "o-1", .step = 0, .due_ms = 0});
  CHECK(stale.kind == Kind::ignore);
  saga.reply(1, "done");
  saga.reply(2, "done");
  CHECK(saga.reply(2, "done").kind == Kind::ignore);  // after the end
  CHECK(saga.state->status == "completed");

  Saga unknown;
  CHECK(unknown.reply(0, "done").kind == Kind::ignore);
}

TEST_CASE("an event applied before is replayed with the same outputs, not applied twice") {
  Saga saga;
  saga.start();
  const auto first = saga.feed(StepReply{.saga_id = "o-1", .step = 0, .outcome = "done"}, "r-1");
  const auto version = saga.state->version;
  const auto again = saga.feed(StepReply{.saga_id = "o-1", .step = 0, .outcome = "done"}, "r-1");
  CHECK(again.kind == Kind::replay);
  REQUIRE(again.outputs.size() == first.outputs.size());
  for (std::size_t i = 0; i < again.outputs.size(); ++i) {
    CHECK(again.outputs[i].subject == first.outputs[i].subject);
    CHECK(again.outputs[i].body == first.outputs[i].body);
  }
  CHECK(saga.state->version == version);
  CHECK(saga.start().kind == Kind::ignore);  // a second start event for the same saga
}

TEST_CASE("saga state survives encode and decode") {
  Saga saga;
  saga.start();
  saga.reply(0, "done");
  auto decoded = fleet::schemas::decode<SagaState>(fleet::schemas::encode(*saga.state));
  REQUIRE(decoded.has_value());
  CHECK(decoded->step == 1);
  CHECK(decoded->recent.size() == 2);
  CHECK(decoded->recent.back().outputs.size() == 2);  // step.completed, the next command
  CHECK(decoded->due_ms == saga.state->due_ms);
  CHECK(decoded->due_ms == saga.now + 1000);
}

namespace {
// SagaState as version 1 wrote it: no due_ms key.
struct SagaStateV1 {
  static constexpr std::string_view type_name = "saga.State";
  static constexpr std::uint32_t schema_version = 1;
  std::string saga_id, saga, status;
  std::uint32_t step = 0;
  std::string reason;
  std::uint64_t version = 0;
  std::string started_at;
  std::vector<char> data;
  std::vector<fleet::saga::Applied> recent;
  MSGPACK_DEFINE_MAP(saga_id, saga, status, step, reason, version, started_at, data, recent);
};
}  // namespace

TEST_CASE("a saga state stored before due_ms existed still decodes, with no deadline") {
  SagaStateV1 old{.saga_id = "o-1", .saga = "order", .status = "running", .step = 1};
  auto decoded = fleet::schemas::decode<SagaState>(fleet::schemas::encode(old));
  REQUIRE_MESSAGE(decoded.has_value(), decoded.error().message);
  CHECK(decoded->saga_id == "o-1");
  CHECK(decoded->step == 1);
  CHECK(decoded->due_ms == 0);
}
