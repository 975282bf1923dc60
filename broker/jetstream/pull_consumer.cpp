#include "pull_consumer.hpp"

#include <algorithm>
#include <charconv>
#include <string_view>
#include <utility>

#include "header_block.hpp"
#include "status.hpp"

namespace fleet::broker::jetstream {
namespace {

std::int64_t ns(std::chrono::milliseconds d) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
}

std::string_view header_of(natsMsg* msg, std::string_view name) {
  // Status messages only (deliveries never come here): rare enough to split the block per call.
  return ReceivedHeaders(msg).get(name).value_or(std::string_view());
}

// The unfilled part of the request a 408 / 409 ends; nullopt when the server did not say.
std::optional<std::size_t> pending_messages(natsMsg* msg) {
  const std::string_view text = header_of(msg, "Nats-Pending-Messages");
  std::size_t n = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (text.empty() || error != std::errc{} || end != text.data() + text.size()) return {};
  return n;
}

}  // namespace

PullConsumer::PullConsumer(std::shared_ptr<Connection> connection, std::string stream,
                           std::string durable, PullConfig config)
    : connection_(std::move(connection)),
      name_(stream + "/" + durable),
      request_subject_("$JS.API.CONSUMER.MSG.NEXT." + stream + "." + durable),
      config_(config) {}

Result<std::unique_ptr<PullConsumer>> PullConsumer::open(std::shared_ptr<Connection> connection,
                                                         std::string stream, std::string durable,
                                                         PullConfig config) {
  if (config.idle_heartbeat.count() <= 0 || config.expires < 2 * config.idle_heartbeat) {
    return fleet::fail(Errc::invalid_argument,
                       "pull expires must be at least twice the idle heartbeat");
  }
  std::unique_ptr<PullConsumer> consumer(
      new PullConsumer(std::move(connection), std::move(stream), std::move(durable), config));
  natsInbox* inbox = nullptr;
  natsStatus s = natsInbox_Create(&inbox);
  if (s != NATS_OK) return fail(s, "inbox for " + consumer->name_);
  consumer->inbox_ = inbox;
  natsInbox_Destroy(inbox);

  natsSubscription* raw = nullptr;
  s = natsConnection_SubscribeSync(&raw, consumer->connection_->nats(), consumer->inbox_.c_str());
  consumer->sub_.reset(raw);
  if (s != NATS_OK) return fail(s, "subscribe to the pull inbox of " + consumer->name_);
  // The bound is the consumer's own requests, not cnats' pending limits.
  (void)natsSubscription_SetPendingLimits(raw, -1, -1);

  natsStatistics* stats = nullptr;
  s = natsStatistics_Create(&stats);
  consumer->stats_.reset(stats);
  if (s != NATS_OK) return fail(s, "statistics for " + consumer->name_);
  consumer->reconnects_seen_ = consumer->reconnects();
  return consumer;
}

std::uint64_t PullConsumer::reconnects() const {
  std::uint64_t reconnects = 0;
  if (natsConnection_GetStats(connection_->nats(), stats_.get()) == NATS_OK) {
    (void)natsStatistics_GetCounts(stats_.get(), nullptr, nullptr, nullptr, nullptr, &reconnects);
  }
  return reconnects;
}

Status PullConsumer::request(std::size_t batch) {
  const std::string body = "{\"batch\":" + std::to_string(batch) +
                           ",\"expires\":" + std::to_string(ns(config_.expires)) +
                           ",\"idle_heartbeat\":" + std::to_string(ns(config_.idle_heartbeat)) +
                           "}";
  const natsStatus s =
      natsConnection_PublishRequest(connection_->nats(), request_subject_.c_str(), inbox_.c_str(),
                                    body.data(), static_cast<int>(body.size()));
  if (s != NATS_OK) return fail(s, "pull request on " + name_);
  outstanding_ += batch;
  ++requests_sent_;
  last_heard_ = Clock::now();
  return {};
}

void PullConsumer::reset_pulls() {
  if (outstanding_ > 0) ++pulls_reset_;
  outstanding_ = 0;
}

Status PullConsumer::on_status(natsMsg* msg, std::string_view code) {
  // 100: idle heartbeat, the pull is alive. No status at all: a stray message on the inbox.
  if (code == "100" || code.empty()) return {};
  const std::string_view description = header_of(msg, "Description");
  if (code == "409" && description.find("Consumer Deleted") != std::string_view::npos) {
    reset_pulls();
    return fleet::fail(Errc::not_found, "consumer " + name_ + " was deleted");
  }
  if (code == "408" || code == "409" || code == "404") {
    // One request ended. Without the pending count it is unknown which one: ask afresh.
    if (auto left = pending_messages(msg)) {
      outstanding_ -= std::min(*left, outstanding_);
    } else {
      reset_pulls();
    }
    return {};
  }
  // Anything else (a status a newer server invents): the request it answers is over.
  reset_pulls();
  return {};
}

void PullConsumer::close() {
  if (closed_.exchange(true)) return;
  // cnats marks the subscription closed and signals its condition: NextMsg returns at once.
  (void)natsSubscription_Unsubscribe(sub_.get());
}

Result<std::vector<MsgPtr>> PullConsumer::next(std::size_t max, std::chrono::milliseconds wait) {
  std::vector<MsgPtr> out;
  if (max == 0 || closed_) return out;
  if (const auto now_reconnects = reconnects(); now_reconnects != reconnects_seen_) {
    // Requests made before the reconnect may be gone with the old server connection.
    reconnects_seen_ = now_reconnects;
    reset_pulls();
  }
  const auto deadline = Clock::now() + wait;
  const auto dead_after = 2 * config_.idle_heartbeat + std::chrono::milliseconds(500);
  out.reserve(max);
  while (out.size() < max) {
    if (outstanding_ * 2 <= max && connection_->connected() && !closed_) {
      if (auto sent = request(max - outstanding_); !sent && out.empty()) {
        return std::unexpected(sent.error());
      }
    }
    std::int64_t timeout_ms = 0;  // after the first message: only what is queued
    if (out.empty()) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) break;
      // Wake at least every heartbeat to notice a dead pull.
      timeout_ms = std::min(left, config_.idle_heartbeat).count();
      timeout_ms = std::max<std::int64_t>(timeout_ms, 1);
    }
    natsMsg* raw = nullptr;
    const natsStatus s = natsSubscription_NextMsg(&raw, sub_.get(), timeout_ms);
    MsgPtr msg(raw);
    if (s != NATS_OK && closed_) break;  // closed meanwhile: return what arrived
    if (s == NATS_TIMEOUT) {
      if (!out.empty()) break;
      if (!connection_->connected()) {
        reset_pulls();
        return fleet::fail(Errc::unavailable, "not connected to NATS (pull on " + name_ + ")");
      }
      if (outstanding_ > 0 && Clock::now() - last_heard_ > dead_after) {
        // Two heartbeats missed: the request is lost or the server is paused. Ask again only
        // when the server answers a ping, so a paused server does not pile up requests.
        reset_pulls();
        last_heard_ = Clock::now();
        if (natsConnection_FlushTimeout(connection_->nats(), 1'000) != NATS_OK) {
          return fleet::fail(Errc::unavailable,
                             "NATS server does not answer (pull on " + name_ + ")");
        }
      }
      continue;
    }
    if (s == NATS_NO_RESPONDERS) {
      // Nobody serves the consumer's API right now (JetStream down, leader election).
      reset_pulls();
      if (!out.empty()) break;
      return fleet::fail(Errc::unavailable, "JetStream did not answer the pull on " + name_);
    }
    if (s == NATS_SLOW_CONSUMER) {
      // cnats dropped messages: they come back after the ack wait. Ask afresh.
      reset_pulls();
      continue;
    }
    if (s != NATS_OK) {
      if (!out.empty()) break;
      return fail(s, "pull on " + name_);
    }
    last_heard_ = Clock::now();
    // Deliveries carry an ack subject as reply; status messages carry none.
    const char* reply = natsMsg_GetReply(msg.get());
    if (reply == nullptr || *reply == '\0') {
      if (auto ok = on_status(msg.get(), header_of(msg.get(), "Status")); !ok && out.empty()) {
        return std::unexpected(ok.error());
      }
      continue;
    }
    if (outstanding_ > 0) --outstanding_;
    out.push_back(std::move(msg));
  }
  return out;
}

}  // namespace fleet::broker::jetstream
