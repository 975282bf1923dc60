// saga: the 3-step saga (every step done), end to end on one machine, three sides in one run:
//   raw lean    (saga_raw_lean.cpp)   as lean as a saga can be run by hand: 8 publishes, 7
//                                     deliveries, 4 plain state writes (issue 15's baseline)
//   raw design  (saga_raw_design.cpp) by hand in cnats, one thread, with the broker operations
//                                     of fleet's design: the ratio of issue 15's item 3
//   fleet       (here)                the orchestrator's and the participants' bindings in one
//                                     Worker
// fleet does per saga: 12 publishes (4 lifecycle events and a watchdog timer among them), 8
// deliveries (the timer handed back once), 4 compare-and-set writes, and a state read only
// when its orchestrator did not write the state last (docs/architecture.md, "Sagas").
// Throughput: `count` start events are in the stream before the clock starts; timed until every
// saga completed. Latency: start events published at `rate` per second while the saga runs,
// from publish to the last reply handled.
#include <algorithm>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "fleet/runtime/handler.hpp"
#include "fleet/runtime/worker.hpp"
#include "fleet/saga/orchestrator.hpp"
#include "fleet/saga/participant.hpp"
#include "fleet/schemas/codec.hpp"
#include "order_fulfilment/orders.hpp"
#include "saga_drive.hpp"

namespace fleet::bench {
namespace saga_bench {

double fleet_saga(const Options& options, const std::string& tag, Tracker& tracker, double rate) {
  ensure_saga_stream(options, tag);
  const std::string stream = "BSAGA_" + tag;
  saga::Definition definition{.name = "bench_" + tag, .subject_prefix = tag + ".saga"};
  for (int s = 0; s < steps; ++s) {
    const std::string prefix = tag + "s" + std::to_string(s);
    definition.steps.push_back({.name = prefix,
                                .command_subject = prefix + ".do",
                                .compensation_subject = prefix + ".undo",
                                .timeout = step_timeout});
  }
  runtime::RoleSettings settings;
  settings.inbox = false;  // as the demo's participants: their ledgers make them idempotent
  auto transport = connect(options);
  auto bindings = saga::orchestrator_bindings(
      *transport, definition,
      {.role = tag + "o",
       .start_stream = stream,
       .start_subject = tag + ".start",
       .saga_stream = stream,
       .start = [](const schemas::Envelope& envelope) -> Result<saga::Start> {
         auto order = schemas::decode<schemas::OrderPlaced>(envelope.body);
         if (!order) return fail(order.error());
         return saga::Start{.saga_id = order->order_id,
                            .data = std::vector<char>(envelope.body.begin(), envelope.body.end()),
                            .started_at = envelope.meta.occurred_at};
       }},
      settings);
  if (!bindings) throw std::runtime_error(bindings.error().describe());
  // A saga is complete when the orchestrator applied the last step's "done".
  for (auto& b : *bindings) {
    if (b.subject != definition.reply_subject()) continue;
    b.middleware.push_back([&tracker](runtime::Handler next) -> runtime::Handler {
      return [&tracker, next](const schemas::Envelope& envelope, runtime::Context& context) {
        auto outcome = next(envelope, context);
        if (outcome.succeeded()) {
          auto reply = schemas::decode<schemas::StepReply>(envelope.body);
          if (reply && reply->step + 1 == steps && reply->outcome == saga::outcome::done) {
            tracker.completed(saga_index(reply->saga_id));
          }
        }
        return outcome;
      };
    });
  }
  for (int s = 0; s < steps; ++s) {
    bindings->push_back(saga::participant_binding(
        definition, static_cast<std::size_t>(s), stream, settings,
        [](const schemas::StepCommand& command, runtime::Context& context) {
          saga::reply(context, command, saga::outcome::done);
          return runtime::Outcome::ok();
        }));
  }
  runtime::Worker worker(*transport, {.drain_timeout = std::chrono::seconds(30)});
  for (auto& b : *bindings) {
    if (auto ok = worker.add(std::move(b)); !ok) throw std::runtime_error(ok.error().describe());
  }
  std::stop_source stop;
  std::jthread runner;
  // Stops the worker also when waiting fails, so the runner can be joined.
  const auto stopper = std::unique_ptr<std::stop_source, void (*)(std::stop_source*)>(
      &stop, [](std::stop_source* source) { source->request_stop(); });
  return drive(options, tag + ".start", tracker, rate, [&] {
    runner = std::jthread([&] { (void)worker.run(stop.get_token()); });
    wait_completed(tracker);
  });
}

}  // namespace saga_bench

namespace {

using namespace saga_bench;

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[static_cast<std::size_t>(p / 100.0 * static_cast<double>(values.size() - 1))];
}

void print_latency(const char* side, double rate, const Tracker& tracker) {
  const auto& l = tracker.latencies();
  std::printf("latency at %.0f sagas/s offered, %s: p50 %.1f ms  p95 %.1f ms  p99 %.1f ms\n", rate,
              side, percentile(l, 50), percentile(l, 95), percentile(l, 99));
}

}  // namespace

void bench_saga(const Options& options) {
  int run = 0;
  const auto tag = [&](const char* side) {
    return std::string("bs") + side + std::to_string(now_ns() % 100'000) + "x" +
           std::to_string(++run);
  };
  struct Side {
    const char* name;
    const char* tag;
    double (*engine)(const Options&, const std::string&, Tracker&, double);
    bool raw;
    double best = 0;
  };
  // --only raw runs both hand-written sides; --only lean / design / fleet one side.
  std::vector<Side> sides;
  for (Side side :
       {Side{"raw lean", "l", &raw_lean_saga, true},
        Side{"raw design", "d", &raw_design_saga, true}, Side{"fleet", "f", &fleet_saga, false}}) {
    const std::string name = side.name;
    const bool wanted = options.only.empty() || (options.only == "raw" && side.raw) ||
                        name == options.only || name == "raw " + options.only;
    if (wanted) sides.push_back(side);
  }
  if (sides.empty()) throw std::runtime_error("--only: raw, lean, design or fleet");
  // Rounds rotate who goes first; the best round of each side counts.
  for (int round = 1; round <= options.rounds; ++round) {
    std::string line = "round " + std::to_string(round) + ":";
    for (std::size_t k = 0; k < sides.size(); ++k) {
      Side& side = sides[(k + static_cast<std::size_t>(round) - 1) % sides.size()];
      Tracker tracker(options.count);
      const double rate = side.engine(options, tag(side.tag), tracker, 0);
      side.best = std::max(side.best, rate);
      char part[96];
      std::snprintf(part, sizeof part, " %s %.0f sagas/s", side.name, rate);
      line += part;
    }
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
  }
  if (options.rate > 0) {
    // A fixed offered rate for up to 10 s, each side once.
    const auto latency_count = static_cast<std::uint64_t>(
        std::max(1.0, std::min(static_cast<double>(options.count), options.rate * 10)));
    for (const Side& side : sides) {
      Tracker tracker(latency_count);
      side.engine(options, tag(side.tag), tracker, options.rate);
      print_latency(side.name, options.rate, tracker);
    }
  }
  double lean = 0, design = 0, fleet = 0;
  for (const Side& side : sides) {
    std::printf("saga %-11s %10.0f sagas/s\n", (std::string(side.name) + ":").c_str(), side.best);
    (side.engine == &raw_lean_saga     ? lean
     : side.engine == &raw_design_saga ? design
                                       : fleet) = side.best;
  }
  if (lean > 0 && fleet > 0) std::printf("ratio to raw lean: %.2f\n", fleet / lean);
  // The last line: the ratio issue 15 asks for, against the same operations by hand.
  if (design > 0 && fleet > 0) std::printf("ratio: %.2f\n", fleet / design);
}

}  // namespace fleet::bench
