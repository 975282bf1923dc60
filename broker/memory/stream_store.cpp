// StreamStore over the in-process broker: everything answers at once.
#include "broker.hpp"

namespace fleet::broker::memory {

Result<std::vector<StoredMessage>> Broker::stored(std::string_view stream, std::uint64_t from,
                                                  std::string_view subject_filter) {
  std::lock_guard lock(mutex_);
  auto it = streams_.find(stream);
  if (it == streams_.end()) return fail(Errc::not_found, "no stream " + std::string(stream));
  std::vector<StoredMessage> out;
  for (auto m = it->second.messages.lower_bound(from); m != it->second.messages.end(); ++m) {
    if (subject_filter.empty() || subject_matches(subject_filter, m->second.message.subject)) {
      out.push_back({.sequence = m->first, .message = m->second.message});
    }
  }
  return out;
}

Result<StoredMessage> Broker::stored_at(std::string_view stream, std::uint64_t sequence) {
  std::lock_guard lock(mutex_);
  auto it = streams_.find(stream);
  if (it == streams_.end()) return fail(Errc::not_found, "no stream " + std::string(stream));
  auto m = it->second.messages.find(sequence);
  if (m == it->second.messages.end()) {
    return fail(Errc::not_found,
                "no " + std::string(stream) + " message " + std::to_string(sequence));
  }
  return StoredMessage{.sequence = sequence, .message = m->second.message};
}

Status Broker::remove(std::string_view stream, std::uint64_t sequence) {
  std::lock_guard lock(mutex_);
  auto it = streams_.find(stream);
  if (it == streams_.end()) return fail(Errc::not_found, "no stream " + std::string(stream));
  if (it->second.messages.erase(sequence) == 0) {
    return fail(Errc::not_found,
                "no " + std::string(stream) + " message " + std::to_string(sequence));
  }
  return {};
}

namespace {

class MemoryStreamStore final : public StreamStore {
 public:
  MemoryStreamStore(std::shared_ptr<Broker> broker, std::string stream)
      : broker_(std::move(broker)), stream_(std::move(stream)) {}

  Status scan(std::uint64_t from, const std::string& subject_filter,
              const std::function<bool(StoredMessage&)>& visit) override {
    auto all = broker_->stored(stream_, from, subject_filter);
    if (!all) return fail(all.error());
    for (auto& stored : *all) {
      if (!visit(stored)) break;
    }
    return {};
  }
  Result<StoredMessage> get(std::uint64_t sequence) override {
    return broker_->stored_at(stream_, sequence);
  }
  Status remove(std::uint64_t sequence) override { return broker_->remove(stream_, sequence); }
  Status remove_async(std::uint64_t sequence, std::function<void(const Status&)> done) override {
    const auto result = broker_->remove(stream_, sequence);
    if (done) done(result);
    return {};
  }
  Status flush(std::chrono::milliseconds) override { return {}; }

 private:
  std::shared_ptr<Broker> broker_;
  std::string stream_;
};

}  // namespace

Result<std::unique_ptr<StreamStore>> open_stream_store(std::shared_ptr<Broker> broker,
                                                       const std::string& stream) {
  if (auto exists = broker->stored_at(stream, 0);
      !exists && exists.error().message.starts_with("no stream")) {
    return fail(exists.error());
  }
  return std::make_unique<MemoryStreamStore>(std::move(broker), stream);
}

}  // namespace fleet::broker::memory
