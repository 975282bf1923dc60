// StepStarts: when a step's timeout counts from, read from the participant durable's delivery
// progress (a scripted probe here; the JetStream answer is tested against a real server).
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <vector>

#include "fleet/saga/step_starts.hpp"

namespace {

using fleet::broker::DeliveryProgress;
using fleet::saga::StepStarts;
using Kind = StepStarts::Verdict::Kind;
using std::chrono::milliseconds;

constexpr milliseconds timeout{1'000};
constexpr milliseconds start_timeout{60'000};
constexpr std::int64_t sent = 100'000;  // the command's send time, Unix ms

// The durable's answers, one per question; the last repeats.
struct Script {
  std::vector<fleet::Result<DeliveryProgress>> answers;
  std::vector<std::string> asked;
  StepStarts starts() {
    return StepStarts(
        [this](const std::string& durable) -> fleet::Result<DeliveryProgress> {
          asked.push_back(durable);
          const auto i = std::min(asked.size(), answers.size()) - 1;
          return answers[i];
        },
        milliseconds(250), milliseconds(500));
  }
};

DeliveryProgress waiting_since(std::int64_t ms) {
  return {.waiting_since_ms = ms};
}
DeliveryProgress caught_up() {
  return {.caught_up = true};
}

}  // namespace

TEST_CASE("a step whose command was taken promptly times out its timeout after sending") {
  Script script{.answers = {caught_up()}};
  auto starts = script.starts();
  CHECK(starts.check("payment", sent, timeout, start_timeout, sent + 1'000)->kind ==
        Kind::time_out);
  CHECK(script.asked == std::vector<std::string>{"payment"});
}

TEST_CASE(
    "a step whose command still waits in the queue is not timed out, until its start timeout") {
  // The oldest message still waiting was published before the command.
  Script script{.answers = {waiting_since(sent - 5)}};
  auto starts = script.starts();
  const auto early = starts.check("payment", sent, timeout, start_timeout, sent + 1'000);
  REQUIRE(early.has_value());
  CHECK(early->kind == Kind::wait);
  CHECK(early->wait == milliseconds(600));  // a hundredth of the start timeout
  const auto late = starts.check("payment", sent, timeout, start_timeout, sent + 59'900);
  REQUIRE(late.has_value());
  CHECK(late->kind == Kind::wait);
  CHECK(late->wait == milliseconds(100));  // no later than the start timeout
  CHECK(starts.check("payment", sent, timeout, start_timeout, sent + 60'000)->kind ==
        Kind::not_started);
}

TEST_CASE(
    "a step whose command was taken late gets its whole timeout from when it was seen taken") {
  Script script{
      .answers = {waiting_since(sent - 5), waiting_since(sent + 200), waiting_since(sent + 3'000)}};
  auto starts = script.starts();
  CHECK(starts.check("shipping", sent, timeout, start_timeout, sent + 1'000)->kind == Kind::wait);
  // Within the margin after sending: perhaps the command itself, so still waiting.
  CHECK(starts.check("shipping", sent, timeout, start_timeout, sent + 2'000)->kind == Kind::wait);
  const auto taken = starts.check("shipping", sent, timeout, start_timeout, sent + 3'000);
  REQUIRE(taken.has_value());
  REQUIRE(taken->kind == Kind::wait);
  CHECK(taken->wait == timeout);
  // The same sample stands for a quarter second; then the timeout is due.
  CHECK(starts.check("shipping", sent, timeout, start_timeout, sent + 3'100)->wait ==
        milliseconds(900));
  CHECK(starts.check("shipping", sent, timeout, start_timeout, sent + 4'000)->kind ==
        Kind::time_out);
  CHECK(script.asked.size() == 4);
}

TEST_CASE("a command sent after a step of the same durable waited counts from its own sending") {
  // Samples that showed an earlier command waiting say nothing about a later one.
  Script script{.answers = {waiting_since(sent - 5), caught_up()}};
  auto starts = script.starts();
  CHECK(starts.check("inventory", sent, timeout, start_timeout, sent + 1'000)->kind == Kind::wait);
  const std::int64_t later = sent + 5'000;
  CHECK(starts.check("inventory", later, timeout, start_timeout, later + 1'000)->kind ==
        Kind::time_out);
}

TEST_CASE("an unreachable broker is an error, so the timer is held instead of deciding") {
  Script script{
      .answers = {fleet::fail(fleet::Errc::unavailable, "no responders"), waiting_since(sent - 5)}};
  auto starts = script.starts();
  auto unreachable = starts.check("payment", sent, timeout, start_timeout, sent + 1'000);
  REQUIRE_FALSE(unreachable.has_value());
  CHECK(unreachable.error().code == fleet::Errc::unavailable);
  // Not asked again within the refresh interval: the same answer, without a question.
  CHECK_FALSE(starts.check("payment", sent, timeout, start_timeout, sent + 1'100).has_value());
  CHECK(script.asked.size() == 1);
  CHECK(starts.check("payment", sent, timeout, start_timeout, sent + 1'300)->kind == Kind::wait);
}

TEST_CASE("without an answer from the broker, a step times out counted from sending") {
  SUBCASE("a transport that cannot tell is not asked again") {
    Script script{.answers = {fleet::fail(fleet::Errc::rejected, "cannot tell")}};
    auto starts = script.starts();
    CHECK(starts.check("payment", sent, timeout, start_timeout, sent + 1'000)->kind ==
          Kind::time_out);
    CHECK(starts.check("payment", sent, timeout, start_timeout, sent + 2'000)->kind ==
          Kind::time_out);
    CHECK(script.asked.size() == 1);
  }
  SUBCASE("a question that fails is asked again next time") {
    Script script{.answers = {fleet::fail(fleet::Errc::not_found, "message removed"),
                              waiting_since(sent - 5)}};
    auto starts = script.starts();
    CHECK(starts.check("payment", sent, timeout, start_timeout, sent + 1'000)->kind ==
          Kind::time_out);
    CHECK(starts.check("payment", sent, timeout, start_timeout, sent + 2'000)->kind == Kind::wait);
  }
  SUBCASE("a step with no start timeout is not asked about") {
    Script script{.answers = {waiting_since(sent - 5)}};
    auto starts = script.starts();
    CHECK(starts.check("payment", sent, timeout, milliseconds(0), sent + 1'000)->kind ==
          Kind::time_out);
    CHECK(script.asked.empty());
  }
}
