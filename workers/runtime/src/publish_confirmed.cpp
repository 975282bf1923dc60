#include "publish_confirmed.hpp"

#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>

namespace fleet::runtime {

Status publish_confirmed(broker::Transport& transport, const std::vector<broker::Message>& messages,
                         std::chrono::milliseconds timeout) {
  if (messages.empty()) return {};
  // Shared with the callbacks, which may outlive this call after a timeout.
  struct Pending {
    std::mutex mutex;
    std::condition_variable done;
    std::size_t outstanding = 0;
    std::optional<Error> error;
  };
  auto pending = std::make_shared<Pending>();
  pending->outstanding = messages.size();
  for (const auto& message : messages) {
    auto sent = transport.publish_async(message, [pending](const Result<broker::PublishAck>& ack) {
      std::lock_guard lock(pending->mutex);
      if (!ack && !pending->error) pending->error = ack.error();
      if (--pending->outstanding == 0) pending->done.notify_all();
    });
    if (!sent) {
      std::lock_guard lock(pending->mutex);
      if (!pending->error) pending->error = sent.error();
      --pending->outstanding;
    }
  }
  std::unique_lock lock(pending->mutex);
  if (!pending->done.wait_for(lock, timeout, [&] { return pending->outstanding == 0; })) {
    return fail(Errc::timeout, "follow-up publishes not confirmed in time");
  }
  if (pending->error) return std::unexpected(*pending->error);
  return {};
}

}  // namespace fleet::runtime
