// The transport acceptance suite: behaviours every Transport must show, written once and run
// against each Env in `Transports` (transport_acceptance.hpp). Timing is only ever asserted as a
// lower bound ("not before the delay"); absence is shown either against a control message that
// proves enough time has passed, or with a bounded wait.
#include "transport_acceptance.hpp"

#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace fleet::test::acceptance {
namespace {

using namespace std::string_literals;

std::string header_or_missing(const Headers& headers, std::string_view name) {
  auto value = header(headers, name);
  return value ? std::string(*value) : "<missing>";
}

// Not applicable: says so in the output rather than passing silently.
template <class Env>
bool offers(bool feature, const char* what) {
  if (!feature) {
    MESSAGE("not applicable: " << std::string(Env::name) << " does not offer "
                               << std::string(what));
  }
  return feature;
}

TEST_CASE_TEMPLATE_DEFINE("round trip preserves subject, headers and body", Env, round_trip) {
  Env env;
  const auto names = unique_names("ROUNDTRIP");
  auto transport = connect_with_stream(env, names);
  // Bodies are bytes, not text: an embedded NUL and a non-UTF-8 byte must survive.
  Message sent = message(names.prefix + ".orders.created", "{\"id\":1}\0\xff bytes"s);
  sent.headers = {{"Fleet-Type", "order.created"}, {"x-trace-id", "abc-123"}};
  const PublishAck ack = ok(transport->publish(sent, 5s));
  CHECK(ack.stream == names.stream);
  CHECK(ack.sequence > 0);
  CHECK_FALSE(ack.duplicate);

  auto subscription = subscribe(*transport, consumer_config(names, 30s));
  std::optional<Delivery> got;
  REQUIRE(drain(*subscription, 10s, [&](Delivery& d) { return got.emplace(std::move(d)), true; }));
  // Read in place first (before any owned copy exists), then through the owned copy.
  CHECK(got->subject() == sent.subject);
  CHECK(got->body() == sent.body);
  for (const auto& [name, value] : sent.headers) {
    CHECK(got->header(name).value_or("<missing>") == value);
  }
  CHECK_FALSE(got->header("x-not-sent").has_value());
  CHECK(got->message().subject == sent.subject);
  CHECK(got->message().body == sent.body);
  for (const auto& [name, value] : sent.headers) {
    CHECK(header_or_missing(got->message().headers, name) == value);
  }
  CHECK(got->attempt() == 1);
  CHECK(got->sequence() == ack.sequence);
  ok(got->ack());
}
TEST_CASE_TEMPLATE_APPLY(round_trip, Transports);

TEST_CASE_TEMPLATE_DEFINE("a consumer's filter subject selects messages by wildcard", Env,
                          filter_subject) {
  Env env;
  const auto names = unique_names("FILTER");
  auto transport = connect_with_stream(env, names);
  for (const char* suffix : {".a.x", ".b.x", ".a.y.z", ".a.last"}) {
    ok(transport->publish(keyed(message(names.prefix + suffix, suffix), names), 5s));
  }
  // Delivery is in stream order (one partition key), so once ".a.last" arrives every earlier
  // match has too.
  auto seen_by = [&](const std::string& durable, const std::string& filter) {
    auto config = consumer_config(names, 30s);
    config.durable = durable;
    config.filter_subject = names.prefix + filter;
    auto subscription = subscribe(*transport, config);
    std::vector<std::string> seen;
    drain(*subscription, 10s, [&](Delivery& d) {
      seen.push_back(d.message().subject.substr(names.prefix.size()));
      ok(d.ack());
      return seen.back() == ".a.last";
    });
    return join(seen);
  };
  CHECK(seen_by("one_token", ".a.*") == ".a.x,.a.last");
  CHECK(seen_by("many_tokens", ".a.>") == ".a.x,.a.y.z,.a.last");
}
TEST_CASE_TEMPLATE_APPLY(filter_subject, Transports);

TEST_CASE_TEMPLATE_DEFINE("a delivery that is not acked is redelivered after the ack wait", Env,
                          ack_wait) {
  Env env;
  const auto names = unique_names("ACKWAIT");
  auto transport = connect_with_stream(env, names);
  const auto ack_wait = 400ms;
  auto subscription = subscribe(*transport, consumer_config(names, ack_wait));
  ok(transport->publish(message(names, "unacked"), 5s));

  // Taken before the fetch, so the broker's ack-wait clock cannot have started earlier.
  const auto before = Clock::now();
  std::uint64_t first_sequence = 0;
  REQUIRE(drain(*subscription, 10s, [&](Delivery& d) {
    CHECK(d.attempt() == 1);
    first_sequence = d.sequence();
    return true;  // dropped unsettled
  }));
  std::optional<Delivery> again;
  REQUIRE(
      drain(*subscription, 10s, [&](Delivery& d) { return again.emplace(std::move(d)), true; }));
  CHECK(Clock::now() - before >= ack_wait);
  CHECK(again->attempt() == 2);
  CHECK(again->sequence() == first_sequence);
  CHECK(again->message().body == "unacked");
  ok(again->ack());
}
TEST_CASE_TEMPLATE_APPLY(ack_wait, Transports);

TEST_CASE_TEMPLATE_DEFINE("retry_after is not redelivered before the delay has passed", Env,
                          retry_after) {
  if (!offers<Env>(Env::features.per_message_retry_delay, "a per-message retry delay")) return;
  Env env;
  const auto names = unique_names("RETRY");
  auto transport = connect_with_stream(env, names);
  // The delay is well beyond the ack wait: a transport that ignored it and let the ack wait
  // lapse would redeliver too early.
  const auto ack_wait = 300ms;
  const auto delay = 1'500ms;
  auto subscription = subscribe(*transport, consumer_config(names, ack_wait));
  ok(transport->publish(message(names, "retry me"), 5s));

  std::optional<Delivery> first;
  REQUIRE(
      drain(*subscription, 10s, [&](Delivery& d) { return first.emplace(std::move(d)), true; }));
  const auto before = Clock::now();
  ok(first->retry_after(delay));
  std::optional<Delivery> again;
  REQUIRE(
      drain(*subscription, 15s, [&](Delivery& d) { return again.emplace(std::move(d)), true; }));
  CHECK(Clock::now() - before >= delay);
  CHECK(again->attempt() == 2);
  CHECK(again->sequence() == first->sequence());
  ok(again->ack());
}
TEST_CASE_TEMPLATE_APPLY(retry_after, Transports);

TEST_CASE_TEMPLATE_DEFINE("terminate stops redelivery", Env, terminate) {
  Env env;
  const auto names = unique_names("TERMINATE");
  auto transport = connect_with_stream(env, names);
  auto subscription = subscribe(*transport, consumer_config(names, 300ms));
  ok(transport->publish(message(names, "poison"), 5s));
  // Never settled: its redeliveries prove that ack waits have passed since the terminate.
  ok(transport->publish(message(names, "control"), 5s));

  int poison_seen = 0;
  bool terminated = false;
  const bool control_came_back_twice = drain(*subscription, 15s, [&](Delivery& d) {
    if (d.message().body == "poison") {
      ++poison_seen;
      if (!terminated) ok(d.terminate());
      terminated = true;
      return false;
    }
    return d.attempt() >= 3;
  });
  REQUIRE(control_came_back_twice);
  CHECK(poison_seen == 1);
}
TEST_CASE_TEMPLATE_APPLY(terminate, Transports);

TEST_CASE_TEMPLATE_DEFINE("in_progress keeps a slow delivery from being redelivered", Env,
                          in_progress) {
  if (!offers<Env>(Env::features.progress_extends_ack_wait, "in_progress")) return;
  Env env;
  const auto names = unique_names("PROGRESS");
  auto transport = connect_with_stream(env, names);
  const auto ack_wait = 600ms;
  auto subscription = subscribe(*transport, consumer_config(names, ack_wait));
  ok(transport->publish(message(names, "slow"), 5s));
  ok(transport->publish(message(names, "control"), 5s));  // never settled, see terminate

  std::optional<Delivery> slow;
  int slow_seen = 0;
  std::uint64_t control_attempt = 0;
  const auto deadline = Clock::now() + 15s;
  // Progress every ~100 ms, far inside the ack wait, while the control comes back twice.
  while (control_attempt < 3 && Clock::now() < deadline) {
    for (auto& d : ok(subscription->fetch(10, 100ms))) {
      if (d.message().body == "slow") {
        ++slow_seen;
        if (!slow) slow.emplace(std::move(d));
      } else {
        control_attempt = d.attempt();
      }
    }
    if (slow) ok(slow->in_progress());
  }
  REQUIRE(control_attempt >= 3);
  CHECK(slow_seen == 1);
  ok(slow->ack());
}
TEST_CASE_TEMPLATE_APPLY(in_progress, Transports);

TEST_CASE_TEMPLATE_DEFINE("two subscriptions on one durable split the work", Env, work_split) {
  Env env;
  const auto names = unique_names("SPLIT");
  constexpr int total = 200;
  // Long enough that no message is redelivered, so a body seen twice was handed out twice.
  const auto config = consumer_config(names, 10s);
  auto publisher = connect_with_stream(env, names);
  ok(publisher->ensure_consumer(config));
  for (int i = 0; i < total; ++i) ok(publisher->publish(message(names, std::to_string(i)), 5s));

  std::unique_ptr<Transport> processes[2] = {env.connect(), env.connect()};
  std::unique_ptr<Subscription> subscriptions[2] = {subscribe(*processes[0], config),
                                                    subscribe(*processes[1], config)};
  std::mutex mutex;
  std::map<std::string, int> times_seen;
  std::string errors;
  std::atomic<int> handled{0};  // distinct bodies seen
  std::atomic<int> handled_by[2] = {0, 0};
  auto worker = [&](int me) {
    const auto deadline = Clock::now() + 30s;
    while (handled < total && Clock::now() < deadline) {
      auto batch = subscriptions[me]->fetch(5, 200ms);
      if (!batch) {
        std::lock_guard lock(mutex);
        errors += batch.error().message + ";";
        return;
      }
      for (auto& d : *batch) {
        bool first_time = false;
        {
          std::lock_guard lock(mutex);
          first_time = ++times_seen[d.message().body] == 1;
        }
        if (!d.ack()) {
          std::lock_guard lock(mutex);
          errors += "ack failed;";
        }
        ++handled_by[me];
        if (first_time) ++handled;
      }
      // Once this worker has had some, let the other catch up, so "both get some" does not
      // depend on how the scheduler happens to order the two threads.
      while (!batch->empty() && handled_by[1 - me] == 0 && handled < total &&
             Clock::now() < deadline) {
        std::this_thread::sleep_for(5ms);
      }
    }
  };
  std::thread first(worker, 0), second(worker, 1);
  first.join();
  second.join();

  CHECK(errors == "");
  CHECK(times_seen.size() == total);
  std::vector<std::string> twice;
  for (const auto& [body, times] : times_seen) {
    if (times != 1) twice.push_back(body);
  }
  if (Env::features.no_redelivery_on_join) {
    CHECK_MESSAGE(twice.empty(), "handled more than once: " << join(twice));
  } else if (!twice.empty()) {
    MESSAGE("handed out again after the group rebalanced (at-least-once): " << join(twice));
  }
  CHECK(handled_by[0] > 0);
  CHECK(handled_by[1] > 0);
}
TEST_CASE_TEMPLATE_APPLY(work_split, Transports);

TEST_CASE_TEMPLATE_DEFINE("publishing the same dedup id twice stores one message", Env, dedup) {
  if (!offers<Env>(Env::features.broker_dedup, "broker-side dedup")) return;
  Env env;
  const auto names = unique_names("DEDUP");
  auto transport = connect_with_stream(env, names);
  auto with_id = [&](std::string body, std::string id) {
    auto m = message(names, std::move(body));
    m.dedup_id = std::move(id);
    return m;
  };
  const PublishAck first = ok(transport->publish(with_id("first", "order-1"), 5s));
  const PublishAck repeat = ok(transport->publish(with_id("repeat", "order-1"), 5s));
  const PublishAck other = ok(transport->publish(with_id("other", "order-2"), 5s));
  CHECK_FALSE(first.duplicate);
  CHECK(repeat.duplicate);
  CHECK(repeat.sequence == first.sequence);  // the stored original, as JetStream answers
  CHECK_FALSE(other.duplicate);

  auto subscription = subscribe(*transport, consumer_config(names, 30s));
  std::vector<std::string> bodies;
  drain(*subscription, 10s, [&](Delivery& d) {
    bodies.push_back(d.message().body);
    ok(d.ack());
    return bodies.back() == "other";  // published last, so everything stored came before it
  });
  CHECK(join(bodies) == "first,other");
}
TEST_CASE_TEMPLATE_APPLY(dedup, Transports);

TEST_CASE_TEMPLATE_DEFINE("a durable consumer resumes where it left off after its process restarts",
                          Env, resume) {
  Env env;
  const auto names = unique_names("RESUME");
  const auto config = consumer_config(names, 400ms);
  auto publisher = connect_with_stream(env, names);
  ok(publisher->ensure_consumer(config));
  for (int i = 0; i < 10; ++i) {
    ok(publisher->publish(keyed(message(names, std::to_string(i)), names), 5s));
  }

  std::set<std::string> acked_before;
  {
    auto process = env.connect();
    auto subscription = subscribe(*process, config);
    drain(
        *subscription, 10s,
        [&](Delivery& d) {
          acked_before.insert(d.message().body);
          ok(d.ack());
          return acked_before.size() == 5;
        },
        1);
  }  // the process goes away right after its acks
  REQUIRE(acked_before.size() == 5);
  REQUIRE_FALSE(acked_before.contains("9"));

  // "9" is left unsettled once; seeing it again proves an ack wait has passed, by which time
  // any ack lost with the first process would have brought its message back too.
  auto process = env.connect();
  auto subscription = subscribe(*process, config);
  std::set<std::string> rest;
  std::vector<std::string> came_back;
  int control_seen = 0;
  drain(*subscription, 15s, [&](Delivery& d) {
    const std::string& body = d.message().body;
    if (acked_before.contains(body)) came_back.push_back(body);
    if (body == "9") return ++control_seen == 2;
    rest.insert(body);
    ok(d.ack());
    return false;
  });
  CHECK(control_seen == 2);
  CHECK_MESSAGE(came_back.empty(),
                "acked before the restart, delivered again: " << join(came_back));
  CHECK(rest.size() + acked_before.size() == 9);
}
TEST_CASE_TEMPLATE_APPLY(resume, Transports);

TEST_CASE_TEMPLATE_DEFINE(
    "a removed durable forgets its position; recreated it reads from the start", Env,
    remove_consumer) {
  Env env;
  const auto names = unique_names("REMOVE");
  const auto config = consumer_config(names, 5s);
  auto transport = connect_with_stream(env, names);
  ok(transport->ensure_consumer(config));
  for (int i = 0; i < 3; ++i) ok(transport->publish(message(names, std::to_string(i)), 5s));
  {
    auto subscription = subscribe(*transport, config);
    int seen = 0;
    drain(*subscription, 10s, [&](Delivery& d) {
      ok(d.ack());
      return ++seen == 3;
    });
    REQUIRE(seen == 3);
  }
  ok(transport->remove_consumer(config.stream, config.durable));
  ok(transport->remove_consumer(config.stream, config.durable));  // already gone: still fine
  ok(transport->ensure_consumer(config));
  auto subscription = subscribe(*transport, config);
  std::set<std::string> again;
  drain(*subscription, 10s, [&](Delivery& d) {
    again.insert(d.message().body);
    ok(d.ack());
    return again.size() == 3;
  });
  CHECK(again == std::set<std::string>{"0", "1", "2"});
}
TEST_CASE_TEMPLATE_APPLY(remove_consumer, Transports);

TEST_CASE_TEMPLATE_DEFINE("subject counts tell how many messages each matching subject holds", Env,
                          subject_counts) {
  Env env;
  const auto names = unique_names("SUBJECTS");
  auto transport = connect_with_stream(env, names);
  for (const char* subject : {"a.x", "a.x", "a.y", "b.z"}) {
    ok(transport->publish(message(names.prefix + "." + subject, "m"), 5s));
  }
  const auto counts = ok(transport->subject_counts(names.stream, names.prefix + ".a.>"));
  CHECK(counts == std::map<std::string, std::uint64_t>{{names.prefix + ".a.x", 2},
                                                       {names.prefix + ".a.y", 1}});
  const auto info = ok(transport->streams());
  for (const auto& s : info) {
    if (s.name != names.stream) continue;
    CHECK(s.messages == 4);
    // Message times are the broker's to tell; the memory broker keeps none.
    if (std::string_view(Env::name) == "jetstream") {
      CHECK(s.first_time_ms > 0);
      CHECK(s.first_time_ms <= s.last_time_ms);
    }
  }
}
TEST_CASE_TEMPLATE_APPLY(subject_counts, Transports);

TEST_CASE_TEMPLATE_DEFINE("stream_for_subject names the stream that captures a subject", Env,
                          stream_for_subject) {
  Env env;
  const auto names = unique_names("CAPTURE");
  auto transport = connect_with_stream(env, names);
  CHECK(ok(transport->stream_for_subject(names.prefix + ".orders.placed")) ==
        std::optional<std::string>(names.stream));
  // "<prefix>x.y" is outside "<prefix>.>".
  CHECK_FALSE(ok(transport->stream_for_subject(names.prefix + "x.y")).has_value());
}
TEST_CASE_TEMPLATE_APPLY(stream_for_subject, Transports);

TEST_CASE_TEMPLATE_DEFINE("a server restart loses no acked publish", Env, server_restart) {
  if (!offers<Env>(Env::features.survives_server_restart, "a broker that outlives a restart")) {
    return;
  }
  Env env;
  const auto names = unique_names("RESTART");
  constexpr int total = 20;
  {
    auto publisher = connect_with_stream(env, names);
    for (int i = 0; i < total; ++i) ok(publisher->publish(message(names, std::to_string(i)), 5s));
  }
  env.restart_server();

  auto transport = env.connect();
  auto subscription = subscribe(*transport, consumer_config(names, 30s));
  std::set<std::string> bodies;
  drain(*subscription, 15s, [&](Delivery& d) {
    bodies.insert(d.message().body);
    ok(d.ack());
    return bodies.size() == total;
  });
  CHECK(bodies.size() == total);
}
TEST_CASE_TEMPLATE_APPLY(server_restart, Transports);

TEST_CASE_TEMPLATE_DEFINE("async publish confirms every message once", Env, async_publish) {
  constexpr int total = 1'000;
  // Declared before the transport, so they outlive any callback it might still run.
  std::vector<std::atomic<int>> calls(total);
  std::atomic<int> succeeded{0};
  std::mutex mutex;
  std::vector<std::string> errors;

  Env env;
  const auto names = unique_names("ASYNC");
  auto transport = connect_with_stream(env, names);
  for (int i = 0; i < total; ++i) {
    ok(transport->publish_async(message(names, std::to_string(i)),
                                [&, i](const Result<PublishAck>& ack) {
                                  ++calls[i];
                                  if (ack) {
                                    ++succeeded;
                                  } else {
                                    std::lock_guard lock(mutex);
                                    errors.push_back(ack.error().message);
                                  }
                                }));
  }
  ok(transport->flush(15s));
  int not_once = 0;
  for (const auto& count : calls) not_once += count != 1;
  CHECK(not_once == 0);
  CHECK(succeeded == total);
  CHECK_MESSAGE(errors.empty(), join(errors));

  auto subscription = subscribe(*transport, consumer_config(names, 30s));
  std::set<std::string> bodies;
  drain(
      *subscription, 20s,
      [&](Delivery& d) {
        bodies.insert(d.message().body);
        ok(d.ack());
        return bodies.size() == total;
      },
      100);
  CHECK(bodies.size() == total);
}
TEST_CASE_TEMPLATE_APPLY(async_publish, Transports);

TEST_CASE_TEMPLATE_DEFINE("max_ack_pending caps deliveries awaiting an ack", Env, max_ack_pending) {
  Env env;
  const auto names = unique_names("MAXPENDING");
  auto transport = connect_with_stream(env, names);
  auto config = consumer_config(names, 30s);
  config.max_ack_pending = 3;
  auto subscription = subscribe(*transport, config);
  for (int i = 0; i < 5; ++i) {
    ok(transport->publish(keyed(message(names, std::to_string(i)), names), 5s));
  }

  std::vector<Delivery> held;
  drain(*subscription, 10s, [&](Delivery& d) {
    held.push_back(std::move(d));
    return held.size() == 3;
  });
  REQUIRE(held.size() == 3);
  CHECK(ok(subscription->fetch(10, 500ms)).empty());  // capped while three await an ack

  ok(held.front().ack());
  std::vector<std::string> next;
  drain(*subscription, 10s, [&](Delivery& d) {
    next.push_back(d.message().body);
    held.push_back(std::move(d));
    return true;
  });
  CHECK(join(next) == "3");
  for (auto& d : held) ok(d.ack());
}
TEST_CASE_TEMPLATE_APPLY(max_ack_pending, Transports);

TEST_CASE_TEMPLATE_DEFINE("max_deliver stops redelivery after that many attempts", Env,
                          max_deliver) {
  Env env;
  const auto names = unique_names("MAXDELIVER");
  auto transport = connect_with_stream(env, names);
  const auto ack_wait = 300ms;
  auto config = consumer_config(names, ack_wait);
  config.max_deliver = 2;
  auto subscription = subscribe(*transport, config);
  ok(transport->publish(message(names, "never acked"), 5s));

  std::vector<std::uint64_t> attempts;
  drain(*subscription, 10s, [&](Delivery& d) {
    attempts.push_back(d.attempt());
    return attempts.size() == 2;
  });
  REQUIRE(attempts == std::vector<std::uint64_t>{1, 2});
  // Bounded wait for a third attempt that must not come: several ack waits.
  CHECK(ok(subscription->fetch(1, 4 * ack_wait)).empty());
}
TEST_CASE_TEMPLATE_APPLY(max_deliver, Transports);

TEST_CASE_TEMPLATE_DEFINE("streams() reports messages and consumer counts", Env, stream_info) {
  Env env;
  const auto names = unique_names("INFO");
  auto transport = connect_with_stream(env, names);
  // One in flight at a time, so the only delivery after the first can be its redelivery.
  auto config = consumer_config(names, 400ms);
  config.max_ack_pending = 1;
  auto subscription = subscribe(*transport, config);
  std::uint64_t last = 0;
  for (int i = 0; i < 3; ++i) last = ok(transport->publish(message(names, "m"), 5s)).sequence;

  // Counts as a tuple (messages, pending, ack_pending, redelivered), polled because a broker
  // may apply acks asynchronously.
  using Counts = std::tuple<std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t>;
  auto counts = [&] {
    for (const auto& stream : ok(transport->streams())) {
      if (stream.name != names.stream) continue;
      if (Env::features.stream_wide_sequences) CHECK(stream.last_sequence == last);
      for (const auto& consumer : stream.consumers) {
        if (consumer.name == names.durable) {
          return Counts{stream.messages, consumer.pending, consumer.ack_pending,
                        consumer.redelivered};
        }
      }
    }
    return Counts{};
  };
  auto eventually = [&](Counts want) {
    const auto deadline = Clock::now() + 5s;
    while (counts() != want && Clock::now() < deadline) std::this_thread::sleep_for(20ms);
    return counts() == want;
  };

  std::optional<Delivery> held;
  REQUIRE(drain(
      *subscription, 10s, [&](Delivery& d) { return held.emplace(std::move(d)), true; }, 1));
  if (!offers<Env>(Env::features.broker_tracks_deliveries, "delivery counts on the broker")) {
    CHECK(eventually({3, 3, 0, 0}));  // pending: not yet acked, the one in flight included
    ok(held->ack());
    CHECK(eventually({3, 2, 0, 0}));
    return;
  }
  CHECK(eventually({3, 2, 1, 0}));
  held.reset();  // unsettled: comes back after the ack wait
  REQUIRE(drain(
      *subscription, 10s, [&](Delivery& d) { return held.emplace(std::move(d)), true; }, 1));
  CHECK(held->attempt() == 2);
  CHECK(eventually({3, 2, 1, 1}));
  ok(held->ack());
  CHECK(eventually({3, 2, 0, 0}));
}
TEST_CASE_TEMPLATE_APPLY(stream_info, Transports);

}  // namespace
}  // namespace fleet::test::acceptance
