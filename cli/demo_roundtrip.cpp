// fleet-demo: the main job of scripts/demo for now. Publishes N OrderPlaced events through the
// JetStream transport while a durable consumer receives, decodes and acks them, then prints what
// arrived: every event exactly once, or the exit code says otherwise.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <thread>
#include <unordered_set>

#include <CLI/CLI.hpp>

#include "fleet/schemas/codec.hpp"
#include "fleet/schemas/envelope.hpp"
#include "fleet/schemas/events/orders.hpp"
#include "nats_options.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using fleet::schemas::OrderPlaced;

struct Counters {
  std::atomic<std::uint64_t> published{0}, acked{0}, publish_failed{0};
  std::atomic<std::uint64_t> consumed{0}, duplicates{0}, undecodable{0};
};

fleet::broker::Message order_message(const std::string& subject, std::uint64_t n) {
  OrderPlaced order{.order_id = "order-" + std::to_string(n),
                    .customer_id = "customer-" + std::to_string(n % 97),
                    .sku = "sku-" + std::to_string(n % 13),
                    .quantity = static_cast<std::uint32_t>(1 + n % 5),
                    .amount_cents = static_cast<std::int64_t>(500 + (n * 37) % 20'000),
                    .region = n % 10 == 0 ? "north" : "south"};
  auto meta = fleet::schemas::new_metadata(std::string(OrderPlaced::type_name));
  meta.ordering_key = order.order_id;
  return {.subject = subject,
          .headers = fleet::schemas::to_headers(meta),
          .body = fleet::schemas::encode(order),
          .dedup_id = meta.id,
          .key = order.order_id};
}

void publish_all(fleet::broker::Transport& transport, const std::string& subject,
                 std::uint64_t count, Counters& counters) {
  for (std::uint64_t n = 1; n <= count; ++n) {
    auto sent = transport.publish_async(order_message(subject, n), [&counters](const auto& ack) {
      (ack ? counters.acked : counters.publish_failed).fetch_add(1);
    });
    if (sent) {
      counters.published.fetch_add(1);
    } else {
      counters.publish_failed.fetch_add(1);
    }
  }
  if (auto flushed = transport.flush(std::chrono::seconds(30)); !flushed) {
    std::cerr << "\nfleet-demo: flush: " << flushed.error().message << "\n";
  }
}

void print_progress(const Counters& c, std::uint64_t total) {
  const auto consumed = c.consumed.load();
  const int width = 30;
  const int filled = total ? static_cast<int>(width * consumed / total) : width;
  std::fprintf(
      stderr, "\r[%s%s] published %llu/%llu  acked %llu  consumed %llu ",
      std::string(filled, '#').c_str(), std::string(width - filled, '.').c_str(),
      static_cast<unsigned long long>(c.published.load()), static_cast<unsigned long long>(total),
      static_cast<unsigned long long>(c.acked.load()), static_cast<unsigned long long>(consumed));
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"fleet-demo: publish N order events and consume them back through JetStream"};
  fleet::cli::NatsOptions nats;
  std::uint64_t events = 10'000;
  int idle_seconds = 10;
  fleet::cli::add_nats_options(app, nats);
  app.add_option("--events,-n", events, "How many events to round-trip")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--idle-timeout", idle_seconds, "Give up after this many seconds without progress")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  try {
    auto transport = fleet::cli::connect_or_throw(nats);
    // A subject and durable of their own per run, so earlier runs never mix in.
    const auto run_id = fleet::schemas::new_event_id().substr(0, 8);
    const std::string subject = "demo.orders." + run_id;
    fleet::broker::StreamConfig stream{.name = "DEMO", .subjects = {"demo.>"}};
    fleet::broker::ConsumerConfig consumer{
        .stream = "DEMO", .durable = "demo-" + run_id, .filter_subject = subject};
    for (auto ok : {transport->ensure_stream(stream), transport->ensure_consumer(consumer)}) {
      if (!ok) throw fleet::cli::CommandError(ok.error().describe());
    }
    auto subscription = transport->subscribe(consumer);
    if (!subscription) throw fleet::cli::CommandError(subscription.error().describe());

    std::cerr << "fleet-demo: round trip of " << events << " events on " << subject << " via "
              << nats.url << "\n";
    Counters counters;
    const auto start = Clock::now();
    std::thread publisher([&] { publish_all(*transport, subject, events, counters); });

    std::unordered_set<std::string> seen;
    auto last_progress = Clock::now(), last_print = Clock::now();
    while (seen.size() < events &&
           Clock::now() - last_progress < std::chrono::seconds(idle_seconds)) {
      auto batch = (*subscription)->fetch(256, std::chrono::milliseconds(200));
      if (!batch) {
        std::cerr << "\nfleet-demo: fetch: " << batch.error().describe() << "\n";
        continue;
      }
      for (auto& delivery : *batch) {
        last_progress = Clock::now();
        auto id = fleet::header(delivery.message().headers, fleet::schemas::header::id);
        if (!fleet::schemas::decode<OrderPlaced>(delivery.message().body) || !id) {
          counters.undecodable.fetch_add(1);
        } else if (!seen.emplace(*id).second) {
          counters.duplicates.fetch_add(1);
        }
        counters.consumed.store(seen.size());
        (void)delivery.ack();
      }
      if (Clock::now() - last_print > std::chrono::milliseconds(100)) {
        print_progress(counters, events);
        last_print = Clock::now();
      }
    }
    publisher.join();
    print_progress(counters, events);
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    const auto missing = events - seen.size();
    std::printf(
        "\n\nsummary\n"
        "  events published   %llu (broker acked %llu, failed %llu)\n"
        "  events consumed    %zu (duplicates %llu, undecodable %llu)\n"
        "  lost               %llu\n"
        "  elapsed            %.2f s (%.0f events/s end to end)\n",
        static_cast<unsigned long long>(counters.published.load()),
        static_cast<unsigned long long>(counters.acked.load()),
        static_cast<unsigned long long>(counters.publish_failed.load()), seen.size(),
        static_cast<unsigned long long>(counters.duplicates.load()),
        static_cast<unsigned long long>(counters.undecodable.load()),
        static_cast<unsigned long long>(missing), seconds, seen.size() / seconds);
    return missing == 0 && counters.undecodable.load() == 0 ? 0 : 1;
  } catch (const fleet::cli::CommandError& e) {
    std::cerr << "fleet-demo: error: " << e.what() << "\n";
    return 1;
  }
}
