#include "fleet/outbox/relay.hpp"

#include <algorithm>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include <spdlog/spdlog.h>

namespace fleet::outbox {

using Steady = std::chrono::steady_clock;

// One claimed batch whose publishes are on their way. Callbacks fill `results` on a transport
// thread; the relay thread waits for them in settle_oldest().
struct Relay::Batch {
  std::vector<PendingEvent> events;
  std::vector<std::optional<Result<broker::PublishAck>>> results;
  // Not sent, or no answer within the publish timeout: says nothing about the row itself.
  std::vector<char> unanswered;
  std::mutex mutex;
  std::condition_variable done;
  std::size_t remaining = 0;

  void complete(std::size_t index, Result<broker::PublishAck> result) {
    std::lock_guard lock(mutex);
    if (results[index]) return;  // already failed by a timeout
    results[index] = std::move(result);
    if (--remaining == 0) done.notify_all();
  }
  bool wait(milliseconds timeout) {
    std::unique_lock lock(mutex);
    return done.wait_for(lock, timeout, [&] { return remaining == 0; });
  }
  void mark_unanswered() {
    std::lock_guard lock(mutex);
    for (std::size_t i = 0; i < results.size(); ++i) {
      if (!results[i]) unanswered[i] = 1;
    }
  }
};

const std::vector<double>& RelayLag::buckets() {
  static const std::vector<double> bounds = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                             1,     2.5,  5,     10,   30,  60,   300};
  return bounds;
}

void RelayLag::add(double seconds) {
  counts.resize(buckets().size());
  const auto bound = std::ranges::lower_bound(buckets(), seconds);
  if (bound != buckets().end()) ++counts[bound - buckets().begin()];
  sum_seconds += seconds;
  ++count;
}

Relay::Relay(OutboxStore& store, broker::Transport& transport, RelayConfig config)
    : store_(store), transport_(transport), config_(std::move(config)) {
  if (!config_.now) config_.now = [] { return Clock::now(); };
  config_.batch_size = std::max<std::size_t>(1, config_.batch_size);
  config_.batches_in_flight = std::max<std::size_t>(1, config_.batches_in_flight);
  config_.max_attempts = std::max(1, config_.max_attempts);
}

Relay::~Relay() {
  while (!in_flight_.empty()) settle_oldest();
}

RelayStats Relay::stats() const {
  RelayStats stats{.published = published_.load(),
                   .duplicates = duplicates_.load(),
                   .failed = failed_.load(),
                   .flagged = flagged_.load(),
                   .deleted = deleted_.load()};
  std::lock_guard lock(lag_mutex_);
  stats.lag = lag_;
  return stats;
}

Status Relay::run() {
  while (!stopping_.load()) {
    if (step(/*retry_outages=*/true) != Step::idle) continue;
    // Short slices keep stop() prompt; a notification or the poll interval ends the wait.
    const auto until = Steady::now() + config_.poll_interval;
    while (!stopping_.load() && Steady::now() < until) {
      const auto slice = std::min<Steady::duration>(milliseconds(100), until - Steady::now());
      auto woken = store_.wait_for_work(std::chrono::ceil<milliseconds>(slice));
      if (!woken) {
        spdlog::warn("outbox relay: waiting for new rows failed: {}", woken.error().describe());
        back_off();
        break;
      }
      if (*woken) break;
    }
  }
  while (!in_flight_.empty()) settle_oldest();
  return {};
}

Status Relay::run_until_idle() {
  error_pending_ = false;
  while (!stopping_.load()) {
    const Step result = step(/*retry_outages=*/false);
    if (result == Step::failed || error_pending_) break;
    if (result == Step::idle && in_flight_.empty()) break;
  }
  while (!in_flight_.empty()) settle_oldest();
  if (error_pending_) {
    error_pending_ = false;
    return fail(last_error_);
  }
  return {};
}

Relay::Step Relay::step(bool retry_outages) {
  if (error_pending_ && retry_outages) {
    // The broker was unreachable: finish what is in flight, then wait before the next claim.
    while (!in_flight_.empty()) settle_oldest();
    error_pending_ = false;
    back_off();
    return Step::failed;
  }
  cleanup_if_due();
  auto claimed = store_.claim(config_.batch_size, config_.now(), config_.lease);
  if (!claimed) {
    last_error_ = claimed.error();
    spdlog::warn("outbox relay: claiming rows failed: {}", claimed.error().describe());
    if (retry_outages) back_off();
    return Step::failed;
  }
  if (claimed->empty()) {
    if (in_flight_.empty()) return Step::idle;
    settle_oldest();
    return Step::worked;
  }
  auto batch = std::make_shared<Batch>();
  batch->events = std::move(*claimed);
  batch->results.resize(batch->events.size());
  batch->unanswered.resize(batch->events.size());
  batch->remaining = batch->events.size();
  for (std::size_t i = 0; i < batch->events.size(); ++i) {
    auto sent = transport_.publish_async(
        batch->events[i].message,
        [batch, i](const Result<broker::PublishAck>& ack) { batch->complete(i, ack); });
    if (!sent) {
      batch->unanswered[i] = 1;
      batch->complete(i, fail(sent.error()));
    }
  }
  transport_.send_now();
  in_flight_.push_back(std::move(batch));
  while (in_flight_.size() >= config_.batches_in_flight) settle_oldest();
  return Step::worked;
}

void Relay::settle_oldest() {
  auto batch = std::move(in_flight_.front());
  in_flight_.erase(in_flight_.begin());
  if (!batch->wait(config_.publish_timeout)) {
    // The flush fails every outstanding publish of the transport through its callback, those
    // of the later batches too: none of them was answered.
    batch->mark_unanswered();
    for (auto& later : in_flight_) later->mark_unanswered();
    (void)transport_.flush(milliseconds(1));
    if (!batch->wait(milliseconds(2'000))) {
      for (std::size_t i = 0; i < batch->events.size(); ++i) {
        batch->complete(i, fail(Errc::timeout, "no confirmation from the broker"));
      }
    }
  }

  std::vector<std::int64_t> acked;
  std::vector<Clock::time_point> acked_created;
  std::vector<Failure> failures;
  std::vector<const Error*> errors;
  std::vector<const std::string*> subjects;
  std::uint64_t duplicates = 0;
  for (std::size_t i = 0; i < batch->events.size(); ++i) {
    const auto& result = *batch->results[i];
    if (result) {
      acked.push_back(batch->events[i].row);
      acked_created.push_back(batch->events[i].created_at);
      if (result->duplicate) ++duplicates;
    } else {
      failures.push_back({.row = batch->events[i].row,
                          .error = result.error().describe(),
                          .counts = batch->unanswered[i] == 0});
      errors.push_back(&result.error());
      subjects.push_back(&batch->events[i].message.subject);
    }
  }
  const auto now = config_.now();

  if (!acked.empty()) {
    if (config_.before_mark_sent) config_.before_mark_sent(acked);
    if (auto ok = store_.mark_sent(acked, now); !ok) {
      // The rows come back when their lease ends; the broker deduplicates the republish.
      spdlog::warn("outbox relay: marking {} rows sent failed: {}", acked.size(),
                   ok.error().describe());
      last_error_ = ok.error();
      error_pending_ = true;
    } else {
      published_ += acked.size();
      duplicates_ += duplicates;
      std::lock_guard lock(lag_mutex_);
      for (const auto created : acked_created) {
        // The database's clock and ours may disagree a little: never a negative lag.
        lag_.add(std::max(0.0, std::chrono::duration<double>(now - created).count()));
      }
      outages_ = 0;
    }
  }
  if (failures.empty()) return;
  failed_ += failures.size();

  // A failure is the row's fault only when the broker answered it and the answer is about the
  // row: a refusal (too large, a permission, a sealed stream), or "no responders" (or another
  // retriable answer) on a subject that no stream captures, as the broker's stream assignments
  // say. A publish that was not sent or not answered in time never counts, nor does a retriable
  // answer on a subject a stream captures: that stream is electing a leader or its servers are
  // away, as in a cluster failover. Such a row waits retry_delay while the other streams' rows
  // keep flowing; when the broker cannot even say which stream captures the subject, it is
  // unreachable and the relay backs off.
  // `retried` rows come back after retry_delay (those that do not count spend no attempt and
  // are never flagged); `released` ones at once, after the relay's back-off.
  std::map<std::string, std::optional<bool>> captured;  // per subject, asked once per batch
  std::vector<Failure> retried, released;
  for (std::size_t k = 0; k < failures.size(); ++k) {
    auto& failure = failures[k];
    bool release = !failure.counts;  // not sent, or not answered in time
    if (failure.counts && errors[k]->retriable()) {
      const std::optional<bool> stream = stream_captures(*subjects[k], captured);
      release = !stream;
      failure.counts = stream.has_value() && !*stream;
    }
    (release ? released : retried).push_back(std::move(failure));
  }
  if (!retried.empty()) {
    auto flagged =
        store_.record_failures(retried, now, now + config_.retry_delay, config_.max_attempts);
    if (!flagged) {
      spdlog::warn("outbox relay: recording failures failed: {}", flagged.error().describe());
    } else {
      for (const auto& row : *flagged) {
        spdlog::error(
            "outbox relay: flagged row {} (event {}, subject {}) after {} attempts: {}; "
            "requeue with `fleet outbox requeue`",
            row.row, row.event_id, row.subject, row.attempts, row.last_error);
      }
      flagged_ += flagged->size();
    }
  }
  if (!released.empty()) {
    (void)store_.record_failures(released, now, now, config_.max_attempts);
    last_error_ = *errors.front();
    if (!error_pending_) {
      spdlog::warn("outbox relay: broker unreachable, {} events wait: {}", released.size(),
                   errors.front()->describe());
    }
    error_pending_ = true;
  }
}

std::optional<bool> Relay::stream_captures(const std::string& subject,
                                           std::map<std::string, std::optional<bool>>& known) {
  auto [entry, fresh] = known.try_emplace(subject);
  if (!fresh) return entry->second;
  auto stream = transport_.stream_for_subject(subject);
  if (!stream) return std::nullopt;  // the broker cannot tell: reported as unreachable
  entry->second = stream->has_value();
  auto& warned = away_warned_[subject];  // one line per subject every 10 s, not per retry
  if (*stream && Steady::now() - warned >= std::chrono::seconds(10)) {
    warned = Steady::now();
    spdlog::warn(
        "outbox relay: stream {} captures {} but did not answer (electing a leader, or its "
        "servers are away); its events wait without spending attempts",
        **stream, subject);
  }
  return entry->second;
}

void Relay::back_off() {
  const milliseconds wait = config_.outage_backoff.delay(++outages_);
  spdlog::warn("outbox relay: retrying in {} ms", wait.count());
  sleep_interruptibly(wait);
}

void Relay::cleanup_if_due() {
  const auto now = Steady::now();
  if (now < next_cleanup_) return;
  next_cleanup_ = now + config_.cleanup_interval;
  auto deleted = store_.delete_sent_before(config_.now() - config_.retention);
  if (!deleted) {
    spdlog::warn("outbox relay: cleanup failed: {}", deleted.error().describe());
    return;
  }
  deleted_ += *deleted;
  if (*deleted > 0) spdlog::info("outbox relay: deleted {} sent rows past retention", *deleted);
}

void Relay::sleep_interruptibly(milliseconds duration) {
  const auto until = Steady::now() + duration;
  while (!stopping_.load() && Steady::now() < until) {
    std::this_thread::sleep_for(
        std::min<Steady::duration>(milliseconds(20), until - Steady::now()));
  }
}

}  // namespace fleet::outbox
