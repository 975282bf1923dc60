// A compare-and-set of a handler's own state, staged on its Context (Context::write_first) and
// stored by the worker before the handler's follow-ups: the lane does not wait a round trip per
// message, and many deliveries' writes share one. The follow-ups are published only once the
// write is stored, so nothing decided on a state goes out before the state does.
//
// `done` runs exactly once: with the new revision once stored; with Errc::conflict when the
// key's latest revision is not `expected` (the delivery is then handled again, and the handler
// should read the store); with another error when the write failed or was never started (the
// attempt was discarded, the worker stopped: Errc::unavailable). It runs on a broker or worker
// thread and must not block.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "fleet/broker/key_value.hpp"

namespace fleet::runtime {

class StateWrite {
 public:
  StateWrite(std::shared_ptr<broker::KeyValue> bucket, std::string key, std::string value,
             std::uint64_t expected, broker::KeyValue::WriteCallback done)
      : bucket_(std::move(bucket)),
        key_(std::move(key)),
        value_(std::move(value)),
        expected_(expected),
        done_(std::move(done)) {}
  // A write dropped unstarted tells its handler so.
  ~StateWrite() { drop(); }
  StateWrite(StateWrite&& other) noexcept
      : bucket_(std::move(other.bucket_)),
        key_(std::move(other.key_)),
        value_(std::move(other.value_)),
        expected_(other.expected_),
        done_(std::exchange(other.done_, nullptr)) {}  // the moved-from write answers nothing
  StateWrite& operator=(StateWrite&& other) noexcept {
    if (this != &other) {
      drop();
      bucket_ = std::move(other.bucket_);
      key_ = std::move(other.key_);
      value_ = std::move(other.value_);
      expected_ = other.expected_;
      done_ = std::exchange(other.done_, nullptr);
    }
    return *this;
  }
  StateWrite(const StateWrite&) = delete;
  StateWrite& operator=(const StateWrite&) = delete;

  // Starts the write; `stored` runs once with its result, after the handler's `done`. On an
  // error return the write was not started: `done` has had the error, `stored` never runs.
  template <class Stored>
  Status start(Stored stored) {
    auto done = std::exchange(done_, nullptr);
    auto started = bucket_->compare_and_set_async(
        key_, value_, expected_,
        [done, stored = std::move(stored)](const Result<std::uint64_t>& revision) {
          if (done) done(revision);
          stored(revision);
        });
    if (!started && done) done(fail(started.error()));
    return started;
  }

 private:
  void drop() {
    if (auto done = std::exchange(done_, nullptr)) {
      done(fail(Errc::unavailable, "state write of " + key_ + " not started"));
    }
  }

  std::shared_ptr<broker::KeyValue> bucket_;
  std::string key_;
  std::string value_;
  std::uint64_t expected_ = 0;  // 0: the key must not exist
  broker::KeyValue::WriteCallback done_;
};

}  // namespace fleet::runtime
