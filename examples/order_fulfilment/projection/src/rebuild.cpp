#include <chrono>

#include "fleet/schemas/codec.hpp"
#include "fleet/schemas/envelope.hpp"
#include "order_fulfilment/order_summary.hpp"

namespace fleet::projection {

Result<RebuildReport> rebuild(broker::Transport& transport, OrderSummary& summary,
                              const std::string& stream, const std::string& subject) {
  // A durable of its own, removed before (a previous rebuild may have died midway) and after.
  const broker::ConsumerConfig replay{.stream = stream,
                                      .durable = "order_summary-rebuild",
                                      .filter_subject = subject,
                                      .max_ack_pending = 10'000};
  if (auto ok = transport.remove_consumer(stream, replay.durable); !ok) return fail(ok.error());
  if (auto ok = transport.ensure_consumer(replay); !ok) return fail(ok.error());
  auto subscription = transport.subscribe(replay);
  if (!subscription) return fail(subscription.error());
  if (auto ok = summary.clear(); !ok) return fail(ok.error());

  RebuildReport report;
  // The stream is read to its end: two empty fetches in a row mean nothing is left.
  for (int empty = 0; empty < 2;) {
    auto batch = (*subscription)->fetch(500, std::chrono::milliseconds(500));
    if (!batch) return fail(batch.error());
    empty = batch->empty() ? empty + 1 : 0;
    for (auto& delivery : *batch) {
      ++report.events;
      auto meta = schemas::metadata_from(
          [&delivery](std::string_view name) { return delivery.header(name); });
      // Events of every age are in the stream: each is read at the version it was written in.
      auto event =
          meta ? schemas::decode<schemas::SagaLifecycle>(meta->schema_version, delivery.body())
               : fail(meta.error());
      if (!meta || !event) {
        ++report.skipped;
      } else {
        auto applied = summary.apply(*event, meta->occurred_at);
        if (!applied) return fail(applied.error());
        ++(*applied ? report.applied : report.skipped);
      }
      // A broker that refuses acks now would hand the events out again: stop with its error
      // (a rebuild can simply be run again) rather than read past it.
      if (auto acked = delivery.ack(); !acked) return fail(acked.error());
    }
  }
  subscription->reset();
  if (auto ok = transport.remove_consumer(stream, replay.durable); !ok) return fail(ok.error());
  return report;
}

}  // namespace fleet::projection
