// A worker process's engine: hosts bindings, fetches from their durables, runs handlers in
// ordered lanes and settles every delivery (ack, redeliver with backoff, or dead-letter).
//
// Per binding: one fetch thread and `concurrency` lane threads. Messages with one ordering key
// always go to one lane, so they are handled one at a time and in arrival order; different keys
// run in parallel. A message is acked only after its handler succeeded and its follow-ups were
// confirmed by the broker; it is dead-lettered only after the dead-letter publish was confirmed
// (until then it is held, unsettled, and the publish retried).
#pragma once

#include <chrono>
#include <memory>
#include <stop_token>
#include <string>
#include <vector>

#include "fleet/broker/transport.hpp"
#include "fleet/runtime/binding.hpp"
#include "fleet/runtime/dead_letter.hpp"
#include "fleet/runtime/inbox.hpp"
#include "fleet/runtime/metrics.hpp"

namespace fleet::runtime {

struct WorkerConfig {
  std::string worker_id;  // "" = host:pid
  DeadLetterConfig dead_letter;
  InboxConfig inbox;
  std::chrono::milliseconds drain_timeout{10'000};  // on stop: time to finish in-flight work
  std::chrono::milliseconds fetch_wait{500};        // long-poll per fetch
  std::shared_ptr<Metrics> metrics;                 // null = not counted
};

class Worker {
 public:
  Worker(broker::Transport& transport, WorkerConfig config);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Validates the binding, ensures its durable consumer and the dead-letter stream. The
  // consumer has no MaxDeliver: the runtime counts attempts (a delivery past max attempts is
  // dead-lettered as a poison pill), so no message is dropped by the broker unsettled.
  Status add(Binding binding);

  // Runs until `stop` is requested, then stops fetching, lets in-flight work finish within the
  // drain timeout and flushes. Work still unfinished is left unacked (the broker redelivers it).
  // Returns an error only if start-up failed. After it returns, no thread of the worker reaches
  // the transport, but a handler that is still running keeps running (see abandoned_work()).
  Status run(std::stop_token stop);

  // True when run() returned while handlers were still running (past the drain timeout, or
  // stuck past their timeout). They still use what they captured (stores, the transport), so
  // a process should exit rather than destroy those: worker_main() does.
  bool abandoned_work() const { return abandoned_work_; }

  const std::string& worker_id() const { return config_.worker_id; }

 private:
  class Runner;
  broker::Transport& transport_;
  WorkerConfig config_;
  std::vector<std::unique_ptr<Runner>> runners_;
  bool abandoned_work_ = false;
};

// "host:pid" of this process.
std::string default_worker_id();

}  // namespace fleet::runtime
