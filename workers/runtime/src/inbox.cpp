#include "fleet/runtime/inbox.hpp"

namespace fleet::runtime {
namespace {

std::string key_for(std::string_view prefix, std::string_view event_id) {
  std::string key;
  key.reserve(prefix.size() + event_id.size());
  key.append(prefix);
  broker::append_key_token(key, event_id);
  return key;
}

}  // namespace

Result<Inbox> Inbox::open(broker::Transport& transport, const InboxConfig& config,
                          std::string_view role) {
  auto kv =
      transport.key_value({.name = config.bucket_prefix + std::string(role), .ttl = config.ttl});
  if (!kv) return std::unexpected(kv.error());
  return Inbox(std::move(*kv));
}

Result<bool> Inbox::seen(std::string_view event_id) {
  auto entry = kv_->get(key_for("handled.", event_id));
  if (!entry) return std::unexpected(entry.error());
  return entry->has_value();
}

std::vector<Result<bool>> Inbox::seen_many(const std::vector<std::string_view>& event_ids) {
  std::vector<std::string> keys;
  keys.reserve(event_ids.size());
  for (const auto& id : event_ids) keys.push_back(key_for("handled.", id));
  auto entries = kv_->get_many(keys);
  std::vector<Result<bool>> seen;
  seen.reserve(entries.size());
  for (auto& entry : entries) {
    if (entry) {
      seen.emplace_back(entry->has_value());
    } else {
      seen.emplace_back(std::unexpected(entry.error()));
    }
  }
  return seen;
}

void Inbox::remember_async(std::string_view event_id, broker::KeyValue::WriteCallback done) {
  // One write per handled event: the key is built in this thread's buffer.
  thread_local std::string key;
  key.assign("handled.");
  broker::append_key_token(key, event_id);
  // put_async drops `done` uncalled when it fails to start, so it gets a copy: a ticket or a
  // small lambda, which std::function keeps without allocating.
  if (auto started = kv_->put_async(key, "", done); !started) done(fail(started.error()));
}

std::string Inbox::first_failure(std::string_view event_id) {
  auto entry = kv_->get(key_for("failed.", event_id));
  if (!entry || !entry->has_value()) return {};
  return (*entry)->value;
}

void Inbox::note_failure(std::string_view event_id, std::string_view when) {
  // create(): only the first failure's time is kept; a conflict means it is already there.
  (void)kv_->create(key_for("failed.", event_id), when);
}

void Inbox::forget_failure(std::string_view event_id) {
  (void)kv_->erase(key_for("failed.", event_id));
}

}  // namespace fleet::runtime
