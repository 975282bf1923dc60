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

// One replay run: entries are added one by one (from a list or while a scan goes on) and
// published at once; finish waits for every confirmation and removal.
class Replayer {
 public:
  Replayer(broker::Transport& transport, broker::StreamStore& store, const ReplayOptions& options,
           const schemas::Registry& registry, const ReplayRun& run, std::uint64_t total)
      : transport_(transport),
        store_(store),
        options_(options),
        registry_(registry),
        run_(run),
        total_(total),
        start_(std::chrono::steady_clock::now()) {}

  // Copies the entry's headers and body into the replayed message.
  void add(const DeadLetter& entry) {
    add(plan_replay(entry, options_, registry_), entry.sequence);
  }
  // Moves them.
  void add(DeadLetter&& entry) {
    const std::uint64_t sequence = entry.sequence;
    add(plan_replay(std::move(entry), options_, registry_), sequence);
  }

  void add(Planned plan, std::uint64_t sequence) {
    if (plan.action == Planned::Action::skip) {
      ++skipped_;
    } else if (plan.action == Planned::Action::fail) {
      tally_.fail(sequence, plan.reason);
    } else {
      pace();
      // The removal is requested from the broker's callback thread: only a confirmed publish
      // may take the entry out of the store.
      auto ok = transport_.publish_async(
          plan.message, [this, sequence](const Result<broker::PublishAck>& ack) {
            if (ack) {
              remove_after_publish(store_, tally_, sequence);
            } else {
              tally_.fail(sequence, "publish failed: " + ack.error().describe());
            }
          });
      if (!ok) tally_.fail(sequence, "publish failed: " + ok.error().describe());
    }
    if (run_.progress) run_.progress(++handled_, total_);
  }

  Counts finish() {
    if (auto flushed = transport_.flush(run_.timeout); !flushed) {
      tally_.note("not every replay was confirmed: " + flushed.error().describe());
    }
    if (auto flushed = store_.flush(run_.timeout); !flushed) {
      tally_.note("not every removal was confirmed: " + flushed.error().describe());
    }
    return tally_.counts(skipped_);
  }

 private:
  void pace() {
    const std::uint64_t n = sent_++;
    if (run_.rate <= 0) return;
    std::this_thread::sleep_until(start_ + std::chrono::duration_cast<std::chrono::nanoseconds>(
                                               std::chrono::duration<double>(n / run_.rate)));
  }

  broker::Transport& transport_;
  broker::StreamStore& store_;
  const ReplayOptions& options_;
  const schemas::Registry& registry_;
  const ReplayRun& run_;
  std::uint64_t total_;
  std::chrono::steady_clock::time_point start_;
  Tally tally_;
  std::uint64_t skipped_ = 0, handled_ = 0, sent_ = 0;
};

}  // namespace

Counts replay(broker::Transport& transport, broker::StreamStore& store,
              const std::vector<DeadLetter>& entries, const ReplayOptions& options,
              const schemas::Registry& registry, const ReplayRun& run) {
  Replayer replayer(transport, store, options, registry, run, entries.size());
  for (const auto& entry : entries) replayer.add(entry);
  return replayer.finish();
}

Counts replay_matching(broker::Transport& transport, broker::StreamStore& store,
                       const Filter& filter, std::string_view subject_prefix,
                       const ReplayOptions& options, const schemas::Registry& registry,
                       const ReplayRun& run) {
  Replayer replayer(transport, store, options, registry, run, 0);
  std::size_t matched = 0;
  auto scanned = scan_matching(store, filter, subject_prefix, [&](DeadLetter& entry) {
    replayer.add(std::move(entry));
    return filter.limit == 0 || ++matched < filter.limit;
  });
  Counts counts = replayer.finish();
  if (!scanned) counts.errors.push_back("reading the DLQ stopped: " + scanned.error().describe());
  counts.scan_failed = !scanned;
  return counts;
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
