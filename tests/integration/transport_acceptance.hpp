// The transport acceptance suite's environments and helpers. Every behaviour in
// transport_acceptance.cpp runs once per Env listed in `Transports`; to add a transport, write an
// Env here and list it there.
//
// An Env is default-constructed per test case and provides:
//   static constexpr const char* name;       shown in test names and MESSAGEs
//   static constexpr Features features;      what the transport can offer (see below)
//   std::unique_ptr<Transport> connect();    a fresh "process" talking to the same broker
//   void restart_server();                   stop and start the broker, keeping its storage
#pragma once

#include <doctest/doctest.h>

#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <source_location>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "fleet/broker/jetstream.hpp"
#include "fleet/broker/kafka.hpp"
#include "fleet/broker/memory.hpp"
#include "fleet/broker/transport.hpp"
#include "nats_server.hpp"

namespace fleet::test::acceptance {

using namespace std::chrono_literals;
using broker::ConsumerConfig;
using broker::Delivery;
using broker::Message;
using broker::PublishAck;
using broker::StreamConfig;
using broker::Subscription;
using broker::Transport;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// A transport that cannot offer a behaviour says so here; the test then prints a MESSAGE that it
// does not apply, so a gap is visible in every run instead of silently skipped.
struct Features {
  bool survives_server_restart = true;    // acked publishes outlive a broker restart
  bool broker_dedup = true;               // the broker drops a repeated dedup id in the window
  bool per_message_retry_delay = true;    // retry_after delays that one message only
  bool progress_extends_ack_wait = true;  // in_progress restarts the ack-wait clock
  // Sequences grow in publish order across the whole stream (not per partition).
  bool stream_wide_sequences = true;
  // The broker knows which messages are delivered and awaiting an ack (ack_pending,
  // redelivered); otherwise only the consuming processes do, and pending counts everything not
  // yet acked.
  bool broker_tracks_deliveries = true;
  // A process joining a durable never makes a message another already handled be handed out
  // again. Not so on Kafka: the join rebalances the group, and records acked just before whose
  // commit the coordinator refuses during the round are delivered again by their new owner
  // (at-least-once, docs/operations.md "Kafka rebalances").
  bool no_redelivery_on_join = true;
};

// Fails the test case with the error text and the caller's line.
template <class T>
T ok(Result<T> result, std::source_location at = std::source_location::current()) {
  if (!result) FAIL("line " << at.line() << ": " << result.error().message);
  return std::move(*result);
}
inline void ok(const Status& status, std::source_location at = std::source_location::current()) {
  if (!status) FAIL("line " << at.line() << ": " << status.error().message);
}

struct MemoryEnv {
  static constexpr const char* name = "memory";
  // A process-local broker dies with the process: there is no server to restart.
  static constexpr Features features{.survives_server_restart = false};

  std::shared_ptr<broker::memory::Broker> broker = broker::memory::make_broker();

  std::unique_ptr<Transport> connect() { return broker::memory::connect(broker); }
  void restart_server() {}
};

struct JetStreamEnv {
  static constexpr const char* name = "jetstream";
  static constexpr Features features{};

  // One server per test binary: starting one per test case would dominate the run time.
  static NatsServer& server() {
    static NatsServer instance;
    return instance;
  }

  std::unique_ptr<Transport> connect() {
    return ok(broker::jetstream::connect({.url = server().url()}));
  }
  void restart_server() {
    server().stop();
    server().start();
  }
};

struct KafkaEnv {
  static constexpr const char* name = "kafka";
  // The mock cluster lives in this process and cannot be restarted with its data; Kafka has no
  // broker-side dedup window (the idempotent producer drops only its own retries).
  static constexpr Features features{.survives_server_restart = false,
                                     .broker_dedup = false,
                                     .stream_wide_sequences = false,
                                     .broker_tracks_deliveries = false,
                                     .no_redelivery_on_join = false};

  // One mock cluster per test binary, like the nats-server.
  static broker::kafka::MockCluster& cluster() {
    static auto instance = ok(broker::kafka::MockCluster::start(1));
    return *instance;
  }
  static const std::string& state_dir() {
    static const std::string dir = [] {
      char path[] = "/tmp/fleet-kafka-state-XXXXXX";
      return std::string(mkdtemp(path));
    }();
    return dir;
  }

  std::unique_ptr<Transport> connect() {
    broker::kafka::Config config;
    config.brokers = cluster().bootstrap_servers();
    config.state_url = "sqlite:" + state_dir() + "/state.db";
    // As scripts/demo runs the dev cluster: the mock coordinator closes each join round after
    // the session timeout less a second, and a member joining a busy group can take a few
    // rounds (seen on main too: 2 rounds of 9 s in 6 of 15 runs at the 10 s default).
    config.session_timeout = std::chrono::milliseconds(3'000);
    return ok(broker::kafka::connect(config));
  }
  void restart_server() {}
};

using Transports = std::tuple<MemoryEnv, JetStreamEnv, KafkaEnv>;

// Names no other test case uses, so cases on one server cannot see each other's messages.
struct Names {
  std::string stream;   // e.g. ACC_ROUNDTRIP_3
  std::string prefix;   // subject prefix, e.g. acc3; the stream captures "acc3.>"
  std::string durable;  // e.g. worker3
};

inline Names unique_names(std::string_view tag) {
  static std::atomic<int> counter{0};
  const std::string n = std::to_string(++counter);
  return {"ACC_" + std::string(tag) + "_" + n, "acc" + n, "worker" + n};
}

// Built member by member: g++ 12 warns on designated initializers that skip a member.
inline StreamConfig stream_config(const Names& names) {
  StreamConfig config;
  config.name = names.stream;
  config.subjects = {names.prefix + ".>"};
  return config;
}

inline ConsumerConfig consumer_config(const Names& names, milliseconds ack_wait) {
  ConsumerConfig config;
  config.stream = names.stream;
  config.durable = names.durable;
  config.ack_wait = ack_wait;
  return config;
}

inline Message message(std::string subject, std::string body) {
  Message m;
  m.subject = std::move(subject);
  m.body = std::move(body);
  return m;
}

inline Message message(const Names& names, std::string body) {
  return message(names.prefix + ".events", std::move(body));
}

// One partitioning key for the test's messages, so a partitioned transport (Kafka) keeps them
// in publish order as a JetStream stream does.
inline Message keyed(Message m, const Names& names) {
  m.key = names.prefix;
  return m;
}

// Sets up the stream and returns a transport connected to it.
template <class Env>
std::unique_ptr<Transport> connect_with_stream(Env& env, const Names& names) {
  auto transport = env.connect();
  ok(transport->ensure_stream(stream_config(names)));
  return transport;
}

// Creates the durable (idempotently) and subscribes, as every worker process does at start-up.
inline std::unique_ptr<Subscription> subscribe(
    Transport& transport, const ConsumerConfig& config,
    std::source_location at = std::source_location::current()) {
  ok(transport.ensure_consumer(config), at);
  return ok(transport.subscribe(config), at);
}

// Fetches in short polls, handing each delivery to `handle` until it returns true (then true) or
// `within` has passed (then false). Deliveries `handle` does not keep are dropped unsettled.
template <class Handle>
bool drain(Subscription& subscription, milliseconds within, Handle&& handle,
           std::size_t batch = 10) {
  const auto deadline = Clock::now() + within;
  while (Clock::now() < deadline) {
    for (auto& delivery : ok(subscription.fetch(batch, 200ms))) {
      if (handle(delivery)) return true;
    }
  }
  return false;
}

// Prints a list of strings in failure messages (doctest cannot print vectors).
inline std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ",") + item;
  return out;
}

}  // namespace fleet::test::acceptance

DOCTEST_TYPE_TO_STRING_AS("memory", fleet::test::acceptance::MemoryEnv);
DOCTEST_TYPE_TO_STRING_AS("jetstream", fleet::test::acceptance::JetStreamEnv);
DOCTEST_TYPE_TO_STRING_AS("kafka", fleet::test::acceptance::KafkaEnv);
