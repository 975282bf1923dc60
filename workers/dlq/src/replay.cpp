#include "fleet/dlq/replay.hpp"

#include <atomic>
#include <mutex>
#include <thread>

namespace fleet::dlq {
namespace {

constexpr std::size_t kMaxErrors = 20;

// Shared with broker callback threads.
struct Tally {
  std::atomic<std::uint64_t> done{0};
  std::atomic<std::uint64_t> failed{0};
  std::mutex mu;
  std::vector<std::string> errors;

  void fail(std::uint64_t sequence, const std::string& why) {
    failed.fetch_add(1, std::memory_order_relaxed);
    note("seq " + std::to_string(sequence) + ": " + why);
  }
  // An error not tied to one entry (its entries are counted when their callbacks fail them).
  void note(const std::string& why) {
    std::lock_guard lock(mu);
    if (errors.size() < kMaxErrors) errors.push_back(why);
  }
  Counts counts(std::uint64_t skipped) {
    std::lock_guard lock(mu);
    return {.done = done.load(), .skipped = skipped, .failed = failed.load(), .errors = errors};
  }
};

void pace(double rate, std::chrono::steady_clock::time_point start, std::uint64_t sent) {
  if (rate <= 0) return;
  std::this_thread::sleep_until(start + std::chrono::duration_cast<std::chrono::nanoseconds>(
                                            std::chrono::duration<double>(sent / rate)));
}

// Removes `sequence` and counts the entry done once the store confirmed it.
void remove_after_publish(broker::StreamStore& store, Tally& tally, std::uint64_t sequence) {
  auto sent = store.remove_async(sequence, [&tally, sequence](const Status& removed) {
    // Gone already (a concurrent purge or replay): the replay was delivered all the same.
    if (removed || removed.error().code == Errc::not_found) {
      tally.done.fetch_add(1, std::memory_order_relaxed);
    } else {
      tally.fail(sequence, "replayed but still in the DLQ: " + removed.error().describe());
    }
  });
  if (!sent) tally.fail(sequence, "replayed but still in the DLQ: " + sent.error().describe());
}

}  // namespace

Counts replay(broker::Transport& transport, broker::StreamStore& store,
              const std::vector<DeadLetter>& entries, const ReplayOptions& options,
              const schemas::Registry& registry, const ReplayRun& run) {
  Tally tally;
  std::uint64_t skipped = 0, handled = 0, sent = 0;
  const auto start = std::chrono::steady_clock::now();
  for (const auto& entry : entries) {
    Planned plan = plan_replay(entry, options, registry);
    if (plan.action == Planned::Action::skip) {
      ++skipped;
    } else if (plan.action == Planned::Action::fail) {
      tally.fail(entry.sequence, plan.reason);
    } else {
      pace(run.rate, start, sent++);
      const std::uint64_t sequence = entry.sequence;
      // The removal is requested from the broker's callback thread: only a confirmed publish
      // may take the entry out of the store.
      auto ok = transport.publish_async(
          plan.message, [&store, &tally, sequence](const Result<broker::PublishAck>& ack) {
            if (ack) {
              remove_after_publish(store, tally, sequence);
            } else {
              tally.fail(sequence, "publish failed: " + ack.error().describe());
            }
          });
      if (!ok) tally.fail(sequence, "publish failed: " + ok.error().describe());
    }
    if (run.progress) run.progress(++handled, entries.size());
  }
  if (auto flushed = transport.flush(run.timeout); !flushed) {
    tally.note("not every replay was confirmed: " + flushed.error().describe());
  }
  if (auto flushed = store.flush(run.timeout); !flushed) {
    tally.note("not every removal was confirmed: " + flushed.error().describe());
  }
  return tally.counts(skipped);
}

Counts purge(broker::StreamStore& store, const std::vector<DeadLetter>& entries,
             std::chrono::milliseconds timeout) {
  Tally tally;
  for (const auto& entry : entries) {
    const std::uint64_t sequence = entry.sequence;
    auto sent = store.remove_async(sequence, [&tally, sequence](const Status& removed) {
      if (removed || removed.error().code == Errc::not_found) {
        tally.done.fetch_add(1, std::memory_order_relaxed);
      } else {
        tally.fail(sequence, removed.error().describe());
      }
    });
    if (!sent) tally.fail(sequence, sent.error().describe());
  }
  if (auto flushed = store.flush(timeout); !flushed) {
    tally.note("not every removal was confirmed: " + flushed.error().describe());
  }
  return tally.counts(0);
}

}  // namespace fleet::dlq
