#include "memory/broker.hpp"

#include <algorithm>

namespace fleet::broker::memory {
namespace {

bool valid_stream_name(std::string_view name) {
  return !name.empty() && name.find_first_of(". *>\t") == std::string_view::npos;
}

std::uint64_t message_bytes(const Message& message) {
  std::uint64_t bytes = message.subject.size() + message.body.size();
  for (const auto& [name, value] : message.headers) bytes += name.size() + value.size();
  return bytes;
}

}  // namespace

Status Broker::ensure_stream(const StreamConfig& config) {
  if (!valid_stream_name(config.name) || config.subjects.empty()) {
    return fail(Errc::invalid_argument, "stream needs a name without . * > and some subjects");
  }
  std::lock_guard lock(mutex_);
  // Updating keeps messages and consumers, as a JetStream stream update does.
  streams_[config.name].config = config;
  return {};
}

Status Broker::ensure_consumer(const ConsumerConfig& config) {
  if (config.durable.empty()) return fail(Errc::invalid_argument, "consumer needs a durable");
  std::lock_guard lock(mutex_);
  auto stream = streams_.find(config.stream);
  if (stream == streams_.end()) return fail(Errc::not_found, "no stream " + config.stream);
  stream->second.consumers[config.durable].config = config;
  changed_.notify_all();  // a larger max_ack_pending may unblock a waiting fetch
  return {};
}

Status Broker::remove_consumer(const std::string& stream, const std::string& durable) {
  std::lock_guard lock(mutex_);
  auto it = streams_.find(stream);
  if (it != streams_.end()) it->second.consumers.erase(durable);
  return {};
}

Status Broker::has_consumer(const std::string& stream, const std::string& durable) {
  std::lock_guard lock(mutex_);
  auto consumer = find(stream, durable);
  if (!consumer) return std::unexpected(consumer.error());
  return {};
}

Result<PublishAck> Broker::publish(const Message& message) {
  if (message.subject.empty() || message.subject.find_first_of("*> ") != std::string::npos) {
    return fail(Errc::invalid_argument, "cannot publish to subject '" + message.subject + "'");
  }
  std::lock_guard lock(mutex_);
  auto it = std::find_if(streams_.begin(), streams_.end(), [&](const auto& entry) {
    const auto& subjects = entry.second.config.subjects;
    return std::any_of(subjects.begin(), subjects.end(), [&](const auto& pattern) {
      return subject_matches(pattern, message.subject);
    });
  });
  if (it == streams_.end()) {
    return fail(Errc::not_found, "no stream captures subject " + message.subject);
  }
  Stream& stream = it->second;
  const auto now = Clock::now();
  expire(stream, now);
  if (!message.dedup_id.empty()) {
    if (auto seen = stream.dedup.find(message.dedup_id); seen != stream.dedup.end()) {
      // Like JetStream: the original's sequence, and nothing stored.
      return PublishAck{it->first, seen->second, true};
    }
  }
  const std::uint64_t sequence = ++stream.last_sequence;
  stream.messages.emplace(sequence, Stored{message, now});
  if (!message.dedup_id.empty()) {
    stream.dedup.emplace(message.dedup_id, sequence);
    stream.dedup_order.emplace_back(now, message.dedup_id);
  }
  changed_.notify_all();
  return PublishAck{it->first, sequence, false};
}

Result<std::vector<Claim>> Broker::fetch(const std::string& stream_name, const std::string& durable,
                                         std::size_t max, std::chrono::milliseconds wait) {
  std::vector<Claim> out;
  if (max == 0) return out;
  std::unique_lock lock(mutex_);
  const auto deadline = Clock::now() + wait;
  for (;;) {
    // Looked up on every pass, not held across the wait, so nothing relies on entries staying put.
    auto consumer = find(stream_name, durable);
    if (!consumer) return std::unexpected(consumer.error());
    Stream& stream = streams_.find(stream_name)->second;
    const auto now = Clock::now();
    expire(stream, now);
    claim(stream, **consumer, max, now, out);
    if (!out.empty() || now >= deadline) return out;
    // Redeliveries become due with time, not with a notification, so wake for those too.
    changed_.wait_until(lock, std::min(deadline, next_due(**consumer)));
  }
}

void Broker::claim(Stream& stream, Consumer& consumer, std::size_t max, Clock::time_point now,
                   std::vector<Claim>& out) {
  const auto& config = consumer.config;
  // Redeliveries first, oldest sequence first, as JetStream does.
  for (auto it = consumer.pending.begin(); it != consumer.pending.end() && out.size() < max;) {
    auto& [sequence, pending] = *it;
    if (pending.due > now) {
      ++it;
      continue;
    }
    auto stored = stream.messages.find(sequence);
    const bool exhausted = config.max_deliver > 0 &&
                           pending.attempts >= static_cast<std::uint64_t>(config.max_deliver);
    if (stored == stream.messages.end() || exhausted) {
      it = consumer.pending.erase(it);  // expired from the stream, or given up on
      continue;
    }
    ++pending.attempts;
    pending.due = now + config.ack_wait;
    out.push_back(Claim{stored->second.message, sequence, pending.attempts});
    ++it;
  }
  const auto cap = config.max_ack_pending > 0 ? static_cast<std::size_t>(config.max_ack_pending)
                                              : static_cast<std::size_t>(-1);
  for (auto it = stream.messages.lower_bound(consumer.next_sequence);
       it != stream.messages.end() && out.size() < max && consumer.pending.size() < cap; ++it) {
    consumer.next_sequence = it->first + 1;
    const Message& message = it->second.message;
    if (!config.filter_subject.empty() &&
        !subject_matches(config.filter_subject, message.subject)) {
      continue;
    }
    consumer.pending[it->first] = Pending{1, now + config.ack_wait};
    out.push_back(Claim{message, it->first, 1});
  }
}

Status Broker::settle(const std::string& stream_name, const std::string& durable,
                      std::uint64_t sequence, std::uint64_t attempt, Settle how,
                      std::chrono::milliseconds delay) {
  std::lock_guard lock(mutex_);
  auto consumer = find(stream_name, durable);
  if (!consumer) return std::unexpected(consumer.error());
  auto& pending = (*consumer)->pending;
  auto it = pending.find(sequence);
  // Already settled (or given up on): settling again is harmless, as on JetStream.
  if (it == pending.end()) return {};
  // A stale delivery (the message went out again since) may still ack, but must not reschedule
  // the newer delivery another fetcher now owns.
  if (how != Settle::ack && it->second.attempts != attempt) return {};
  const auto now = Clock::now();
  switch (how) {
    case Settle::ack:
    case Settle::terminate:
      pending.erase(it);
      break;
    case Settle::retry:
      it->second.due = now + std::max(delay, std::chrono::milliseconds(0));
      break;
    case Settle::progress:
      it->second.due = now + (*consumer)->config.ack_wait;
      break;
  }
  changed_.notify_all();
  return {};
}

Result<std::map<std::string, std::uint64_t>> Broker::subject_counts(const std::string& stream,
                                                                    const std::string& filter) {
  std::lock_guard lock(mutex_);
  auto it = streams_.find(stream);
  if (it == streams_.end()) return fail(Errc::not_found, "no stream " + stream);
  std::map<std::string, std::uint64_t> counts;
  for (const auto& [sequence, stored] : it->second.messages) {
    if (subject_matches(filter, stored.message.subject)) ++counts[stored.message.subject];
  }
  return counts;
}

std::vector<StreamInfo> Broker::streams() {
  std::lock_guard lock(mutex_);
  const auto now = Clock::now();
  std::vector<StreamInfo> out;
  for (auto& [name, stream] : streams_) {
    expire(stream, now);
    StreamInfo info;
    info.name = name;
    info.subjects = stream.config.subjects;
    info.messages = stream.messages.size();
    for (const auto& [sequence, stored] : stream.messages)
      info.bytes += message_bytes(stored.message);
    info.last_sequence = stream.last_sequence;
    info.first_sequence = !stream.messages.empty()   ? stream.messages.begin()->first
                          : stream.last_sequence > 0 ? stream.last_sequence + 1
                                                     : 0;
    for (const auto& [durable, consumer] : stream.consumers) {
      ConsumerInfo c;
      c.name = durable;
      const auto& filter = consumer.config.filter_subject;
      for (auto it = stream.messages.lower_bound(consumer.next_sequence);
           it != stream.messages.end(); ++it) {
        if (filter.empty() || subject_matches(filter, it->second.message.subject)) ++c.pending;
      }
      c.ack_pending = consumer.pending.size();
      for (const auto& [sequence, pending] : consumer.pending) {
        if (pending.attempts > 1) ++c.redelivered;
      }
      info.consumers.push_back(std::move(c));
    }
    out.push_back(std::move(info));
  }
  return out;
}

Result<Broker::Consumer*> Broker::find(const std::string& stream_name, const std::string& durable) {
  auto stream = streams_.find(stream_name);
  if (stream == streams_.end()) return fail(Errc::not_found, "no stream " + stream_name);
  auto consumer = stream->second.consumers.find(durable);
  if (consumer == stream->second.consumers.end()) {
    return fail(Errc::not_found, "no consumer " + stream_name + "/" + durable);
  }
  return &consumer->second;
}

void Broker::expire(Stream& stream, Clock::time_point now) {
  const auto window = stream.config.duplicate_window;
  while (!stream.dedup_order.empty() && stream.dedup_order.front().first + window <= now) {
    stream.dedup.erase(stream.dedup_order.front().second);
    stream.dedup_order.pop_front();
  }
  const auto max_age = stream.config.max_age;
  if (max_age.count() <= 0) return;
  while (!stream.messages.empty() && stream.messages.begin()->second.stored_at + max_age <= now) {
    stream.messages.erase(stream.messages.begin());
  }
}

Clock::time_point Broker::next_due(const Consumer& consumer) {
  auto due = Clock::time_point::max();
  for (const auto& [sequence, pending] : consumer.pending) due = std::min(due, pending.due);
  return due;
}

std::shared_ptr<Broker> make_broker() {
  return std::make_shared<Broker>();
}

}  // namespace fleet::broker::memory
