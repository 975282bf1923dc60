#include "publish_tracker.hpp"

#include <algorithm>
#include <cstdint>
#include <utility>

#include "status.hpp"

namespace fleet::broker::jetstream {
namespace {

std::string subject_of(natsMsg* msg) {
  const char* subject = natsMsg_GetSubject(msg);
  return subject != nullptr ? subject : "";
}

}  // namespace

PublishTracker::PublishTracker(std::size_t in_flight) : max_spare_(in_flight + 64) {
  waiting_.reserve(max_spare_);
  spare_.reserve(max_spare_);
}

void PublishTracker::add(natsMsg* msg, PublishCallback done) {
  if (spare_.empty()) {
    waiting_.emplace(msg, Waiting{std::move(done), connection_});
    return;
  }
  Map::node_type node = std::move(spare_.back());
  spare_.pop_back();
  node.key() = msg;
  node.mapped() = Waiting{std::move(done), connection_};
  waiting_.insert(std::move(node));
}

PublishCallback PublishTracker::take(Map::iterator it) {
  Map::node_type node = waiting_.extract(it);
  PublishCallback done = std::move(node.mapped().done);
  node.mapped().done = nullptr;
  if (spare_.size() < max_spare_) spare_.push_back(std::move(node));
  return done;
}

void PublishTracker::on_ack(jsCtx* js, natsMsg* msg, jsPubAck* ack, jsPubAckErr* failure,
                            void* closure) {
  // With an AckHandler installed, cnats gives the message back to us to destroy.
  MsgPtr owned(msg);
  auto& self = *static_cast<PublishTracker*>(closure);
  PublishCallback done;
  std::string subject;  // an orphan may be destroyed by its publisher once the lock is released
  bool drop_lost = false;
  {
    std::lock_guard lock(self.mu_);
    if (ack == nullptr) subject = subject_of(msg);
    if (self.orphan_if_in_call(msg)) (void)owned.release();
    // Failed at a reconnect already: a late answer. (lost_ is empty but after a reconnect.)
    if (!self.lost_.empty() && self.lost_.erase(msg) > 0) return;
    auto it = self.waiting_.find(msg);
    if (it == self.waiting_.end()) return;
    done = self.take(it);
    ++self.running_;
    drop_lost = self.waiting_.empty() && !self.lost_.empty();
  }
  if (ack != nullptr) {
    self.run(done,
             PublishAck{ack->Stream != nullptr ? ack->Stream : "", ack->Sequence, ack->Duplicate});
  } else if (failure != nullptr) {
    self.run(done, std::unexpected(to_error(*failure, "async publish to " + subject)));
  } else {
    self.run(done, fleet::fail(Errc::internal, "async publish to " + subject +
                                                   ": cnats reported neither ack nor error"));
  }
  if (drop_lost) self.drop_lost(js);
}

Status PublishTracker::publish(jsCtx* js, MsgPtr msg, jsPubOptions* options, PublishCallback done) {
  natsMsg* key = msg.get();
  {
    std::lock_guard lock(mu_);
    if (closed_) return fleet::fail(Errc::unavailable, "async publish: transport is closed");
    // Registered before publishing: the ack can arrive before js_PublishMsgAsync returns.
    add(key, std::move(done));
    in_call_.push_back(key);
  }
  natsMsg* raw = msg.release();
  const natsStatus status = js_PublishMsgAsync(js, &raw, options);
  MsgPtr orphan;
  {
    std::lock_guard lock(mu_);
    in_call_.erase(std::find(in_call_.begin(), in_call_.end(), key));
    if (auto it = std::find(orphans_.begin(), orphans_.end(), key); it != orphans_.end()) {
      orphans_.erase(it);
      orphan.reset(key);  // taken back while cnats still read it: ours to destroy now
    }
  }
  // cnats owns the message now (raw was cleared), or it was taken back and failed already: a
  // taken-back message is no longer in cnats' pending map, so cnats reports success for it.
  if (status == NATS_OK) return {};

  // cnats kept neither the message nor a pending entry for it: the handler will not see it,
  // and nobody could take it back.
  if (raw != nullptr) (void)orphan.release();
  Error error = to_error(status, {}, "async publish to " + subject_of(raw));
  MsgPtr returned(raw);
  PublishCallback dropped;  // destroyed after the lock is released, like every callback
  {
    std::lock_guard lock(mu_);
    if (auto it = waiting_.find(key); it != waiting_.end()) dropped = take(it);
    if (waiting_.empty() && running_ == 0) idle_.notify_all();
  }
  return std::unexpected(std::move(error));
}

Status PublishTracker::flush(jsCtx* js, bool connected, std::chrono::milliseconds timeout) {
  // Not js_PublishAsyncComplete: it would also wait for the lost publishes cnats still holds.
  if (!wait_idle(Clock::now() + timeout)) {
    std::size_t outstanding = 0;
    {
      std::lock_guard lock(mu_);
      outstanding = waiting_.size();
    }
    if (connected) {
      fail_outstanding(js, Errc::timeout, "no ack from the broker within the flush timeout");
    } else {
      fail_outstanding(js, Errc::unavailable, "connection lost before the broker confirmed");
    }
    // Acks taken by the handler just before fail_outstanding are still being delivered.
    wait_idle(Clock::now() + std::chrono::seconds(1));
    if (outstanding == 0) {
      return fleet::fail(Errc::timeout, "flush: async publish callbacks still running after " +
                                            std::to_string(timeout.count()) + " ms");
    }
    return fleet::fail(Errc::timeout, "flush: " + std::to_string(outstanding) +
                                          " async publishes unconfirmed after " +
                                          std::to_string(timeout.count()) + " ms");
  }
  drop_lost(js);
  return {};
}

void PublishTracker::shutdown(jsCtx* js) {
  {
    std::lock_guard lock(mu_);
    closed_ = true;
  }
  fail_outstanding(js, Errc::unavailable, "transport closed before the broker confirmed");
  std::unique_lock lock(mu_);
  idle_.wait(lock, [&] { return waiting_.empty() && running_ == 0; });
}

void PublishTracker::fail_outstanding(jsCtx* js, Errc code, const std::string& why) {
  {
    // cnats' pending set is always a subset of waiting_ (added here first, removed there
    // first). Checking matters: cnats 3.4.1 js_PublishAsyncGetPendingList crashes on a
    // context that never published async (its pending map is still NULL).
    std::lock_guard lock(mu_);
    if (waiting_.empty() && lost_.empty()) return;
  }
  MsgList pending;
  // NATS_NOT_FOUND: nothing pending. The messages now belong to `pending`.
  if (js_PublishAsyncGetPendingList(pending.out(), js) != NATS_OK) return;
  for (int i = 0; i < pending.size(); ++i) {
    natsMsg* msg = pending.out()->Msgs[i];
    PublishCallback done;
    std::string subject;  // an orphan may be destroyed by its publisher once the lock is released
    {
      std::lock_guard lock(mu_);
      subject = subject_of(msg);
      if (orphan_if_in_call(msg)) (void)pending.take(i).release();
      if (lost_.erase(msg) > 0) continue;  // failed already; `pending` destroys it
      auto it = waiting_.find(msg);
      if (it == waiting_.end()) continue;
      done = take(it);
      ++running_;
    }
    run(done, fleet::fail(code, "async publish to " + subject + ": " + why));
  }
}

void PublishTracker::disconnected() {
  std::lock_guard lock(mu_);
  ++connection_;
}

void PublishTracker::reconnected(jsCtx* js) {
  std::vector<std::pair<std::string, PublishCallback>> failed;
  {
    std::lock_guard lock(mu_);
    for (auto it = waiting_.begin(); it != waiting_.end();) {
      natsMsg* msg = it->first;
      // A message still inside js_PublishMsgAsync is left alone: that call may yet fail and
      // hand it back, and its callback must then not have run.
      if (it->second.connection == connection_ ||
          std::find(in_call_.begin(), in_call_.end(), msg) != in_call_.end()) {
        ++it;
        continue;
      }
      failed.emplace_back(subject_of(msg), take(it++));
      lost_.insert(msg);
      ++running_;
    }
  }
  for (auto& [subject, done] : failed) {
    run(done, fleet::fail(Errc::unavailable, "async publish to " + subject +
                                                 ": the connection was lost before the broker "
                                                 "confirmed"));
  }
  drop_lost(js);
}

void PublishTracker::drop_lost(jsCtx* js) {
  {
    std::lock_guard lock(mu_);
    if (lost_.empty() || !waiting_.empty()) return;
  }
  // Takes back everything cnats holds as pending: the lost publishes, and a publish registered
  // since the check above, which fails as unconfirmed (its caller republishes it).
  fail_outstanding(js, Errc::unavailable,
                   "taken back after a reconnect before the broker answered");
}

bool PublishTracker::orphan_if_in_call(natsMsg* msg) {
  if (std::find(in_call_.begin(), in_call_.end(), msg) == in_call_.end()) return false;
  orphans_.push_back(msg);
  return true;
}

void PublishTracker::run(PublishCallback& done, const Result<PublishAck>& result) {
  // Exceptions must not unwind through cnats' C frames.
  try {
    if (done) done(result);
  } catch (...) {
  }
  done = nullptr;  // release captures before the callback counts as finished
  std::lock_guard lock(mu_);
  if (--running_ == 0 && waiting_.empty()) idle_.notify_all();
}

bool PublishTracker::wait_idle(Clock::time_point deadline) {
  std::unique_lock lock(mu_);
  return idle_.wait_until(lock, deadline, [&] { return waiting_.empty() && running_ == 0; });
}

}  // namespace fleet::broker::jetstream
