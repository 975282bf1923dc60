// A participant's record of one saga step in its own KV bucket: "done" or "undone". Makes do and
// undo idempotent, and makes a "do" that arrives after its "undo" (a step that timed out and was
// compensated first) a refusal instead of a charge nobody will ever refund.
#pragma once

#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "fleet/broker/key_value.hpp"
#include "fleet/runtime/context.hpp"

namespace fleet::demo {

enum class LedgerDo { done, already_done, refused_undone };

// Records "done" unless the step was already undone. Retryable errors come back as errors.
Result<LedgerDo> ledger_do(broker::KeyValue& ledger, const std::string& key);
// Records "undone" (also when the step never happened: a tombstone). True if it had been done.
Result<bool> ledger_undo(broker::KeyValue& ledger, const std::string& key);

// ledger_do without a round trip in the handler, for a step seen for the first time: "done" is
// created as a state write staged on the context (runtime/state_write.hpp), stored before the
// handler's reply goes out, and many commands' writes share a round trip. When the create
// conflicts (the step was done or undone before), the reply is dropped, the key remembered, and
// the command handled again: then do_step() reads the ledger as ledger_do does.
class StagedLedger {
 public:
  explicit StagedLedger(std::shared_ptr<broker::KeyValue> ledger) : ledger_(std::move(ledger)) {}
  // LedgerDo::done with the write staged on `context`, or what ledger_do answers for a key
  // whose staged create conflicted or a command delivered before (`context.attempt()` > 1).
  Result<LedgerDo> do_step(runtime::Context& context, const std::string& key);
  broker::KeyValue& bucket() { return *ledger_; }

 private:
  // Keys whose staged create conflicted, until read; shared with the writes' callbacks, which
  // may answer after this object is gone.
  struct Conflicted {
    std::mutex mutex;
    std::set<std::string> keys;
  };
  bool take_conflicted(const std::string& key);

  std::shared_ptr<broker::KeyValue> ledger_;
  std::shared_ptr<Conflicted> conflicted_ = std::make_shared<Conflicted>();
};

}  // namespace fleet::demo
