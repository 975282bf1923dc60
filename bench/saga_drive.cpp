#include "saga_drive.hpp"

#include <stdexcept>
#include <thread>

#include "fleet/schemas/codec.hpp"
#include "fleet/schemas/envelope.hpp"
#include "order_fulfilment/orders.hpp"

namespace fleet::bench::saga_bench {
namespace {

using Clock = std::chrono::steady_clock;

// Publishes `count` OrderPlaced events with envelope headers; at `rate` per second if > 0.
void place(const Options& options, const std::string& subject, Tracker& tracker, double rate) {
  auto transport = connect(options);
  const auto begin = Clock::now();
  for (std::uint64_t i = 0; i < tracker.count(); ++i) {
    if (rate > 0) {
      std::this_thread::sleep_until(begin + std::chrono::duration_cast<Clock::duration>(
                                                std::chrono::duration<double>(i / rate)));
    }
    schemas::OrderPlaced order{.order_id = "s" + std::to_string(i),
                               .customer_id = "c-1",
                               .sku = "sku-1",
                               .quantity = 1,
                               .amount_cents = 1'000,
                               .region = "north"};
    auto meta = schemas::new_metadata(std::string(schemas::OrderPlaced::type_name));
    tracker.placed(i);
    auto sent = transport->publish_async({.subject = subject,
                                          .headers = schemas::to_headers(meta),
                                          .body = schemas::encode(order),
                                          .dedup_id = meta.id},
                                         [](const auto&) {});
    if (!sent) throw std::runtime_error(sent.error().describe());
  }
  if (auto ok = transport->flush(std::chrono::seconds(60)); !ok) {
    throw std::runtime_error(ok.error().describe());
  }
}

}  // namespace

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

void Tracker::completed(std::uint64_t i) {
  if (i >= placed_.size()) return;
  latency_ms_[i] = static_cast<double>(now_ns() - placed_[i].load()) / 1e6;
  ++completed_;
}

std::uint64_t saga_index(std::string_view id) {
  return id.size() > 1 ? std::stoull(std::string(id.substr(1))) : ~0ULL;
}

void wait_completed(const Tracker& tracker) {
  const auto deadline = Clock::now() + std::chrono::minutes(5);
  while (tracker.completed() < tracker.count()) {
    if (Clock::now() > deadline) throw std::runtime_error("sagas did not complete in 5 minutes");
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

double drive(const Options& options, const std::string& subject, Tracker& tracker, double rate,
             const std::function<void()>& engine) {
  if (rate <= 0) {
    place(options, subject, tracker, 0);
    return timed(tracker.count(), engine);
  }
  std::jthread placer([&] { place(options, subject, tracker, rate); });
  return timed(tracker.count(), engine);
}

void ensure_saga_stream(const Options& options, const std::string& tag) {
  auto admin = connect(options);
  std::vector<std::string> subjects{tag + ".>"};
  for (int s = 0; s < steps; ++s) subjects.push_back(tag + "s" + std::to_string(s) + ".>");
  if (auto ok = admin->ensure_stream({.name = "BSAGA_" + tag, .subjects = subjects}); !ok) {
    throw std::runtime_error(ok.error().describe());
  }
}

}  // namespace fleet::bench::saga_bench
