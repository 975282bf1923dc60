#include "fleet/saga/step_starts.hpp"

#include <algorithm>

#include "fleet/runtime/log.hpp"

namespace fleet::saga {
namespace {

using std::chrono::milliseconds;

constexpr std::int64_t keep_ms = 3'600'000;  // samples older than an hour are dropped
constexpr std::size_t max_samples = 16'384;  // per durable

}  // namespace

StepStarts::StepStarts(Probe probe, milliseconds refresh, milliseconds margin)
    : probe_(std::move(probe)), refresh_(refresh), margin_(margin) {}

bool StepStarts::taken(const Sample& sample, std::int64_t sent_ms) const {
  return sample.progress.caught_up || sample.progress.waiting_since_ms > sent_ms + margin_.count();
}

Result<bool> StepStarts::sample(const std::string& durable, std::int64_t now_ms) {
  auto& samples = samples_[durable];
  if (!samples.empty() && now_ms - samples.back().at_ms < refresh_.count()) return true;
  // A failed question is not asked again within refresh_ either: its answer stands.
  auto& failed = failures_[durable];
  if (failed && now_ms - failed->at_ms < refresh_.count()) {
    if (failed->transient) return fail(failed->error);
    return false;
  }
  failed.reset();
  auto progress = probe_(durable);
  if (!progress) {
    const Errc code = progress.error().code;
    const bool transient = code == Errc::unavailable || code == Errc::timeout;
    failed = Failure{now_ms, progress.error(), transient};
    if (transient) return fail(progress.error());
    if (code == Errc::rejected) {
      unsupported_ = true;  // for good: step timeouts count from sending
    } else {
      runtime::log::write(spdlog::level::warn,
                          "cannot tell whether a step's command was taken; its timeout counts "
                          "from sending",
                          {{"durable", durable}, {"error", progress.error().describe()}});
    }
    return false;
  }
  const auto old = std::find_if(samples.begin(), samples.end(),
                                [&](const Sample& s) { return s.at_ms >= now_ms - keep_ms; });
  samples.erase(samples.begin(), old);
  if (samples.size() >= max_samples)
    samples.erase(samples.begin(), samples.begin() + max_samples / 2);
  samples.push_back({now_ms, *progress});
  return true;
}

Result<StepStarts::Verdict> StepStarts::check(const std::string& durable, std::int64_t sent_ms,
                                              milliseconds timeout, milliseconds start_timeout,
                                              std::int64_t now_ms) {
  if (start_timeout.count() <= 0) return Verdict{};  // the wait counts toward the timeout
  std::lock_guard lock(mutex_);
  if (unsupported_) return Verdict{};
  auto sampled = sample(durable, now_ms);
  if (!sampled) return fail(std::move(sampled).error());
  if (!*sampled) return Verdict{};
  const auto& samples = samples_[durable];
  // At most about a hundred questions while a command waits, each a deferral of its timer.
  const auto poll = std::clamp(std::max(timeout / 4, start_timeout / 100), milliseconds(250),
                               milliseconds(60'000));
  if (!taken(samples.back(), sent_ms)) {
    const std::int64_t left = sent_ms + start_timeout.count() - now_ms;
    if (left <= 0) return Verdict{.kind = Verdict::Kind::not_started};
    return Verdict{.kind = Verdict::Kind::wait, .wait = std::min(poll, milliseconds(left))};
  }
  // Deliveries only move forward, so once a sample shows the command taken, later ones do too.
  const auto first =
      std::lower_bound(samples.begin(), samples.end(), sent_ms,
                       [](const Sample& s, std::int64_t at) { return s.at_ms < at; });
  const auto first_taken = std::partition_point(
      first, samples.end(), [&](const Sample& s) { return !taken(s, sent_ms); });
  const std::int64_t started = first_taken == first ? sent_ms : first_taken->at_ms;
  const std::int64_t left = started + timeout.count() - now_ms;
  if (left <= 0) return Verdict{};
  return Verdict{.kind = Verdict::Kind::wait, .wait = milliseconds(left)};
}

}  // namespace fleet::saga
