// A participant's record of one saga step in its own KV bucket: "done" or "undone". Makes do and
// undo idempotent, and makes a "do" that arrives after its "undo" (a step that timed out and was
// compensated first) a refusal instead of a charge nobody will ever refund.
#pragma once

#include <string>

#include "fleet/broker/key_value.hpp"

namespace fleet::demo {

enum class LedgerDo { done, already_done, refused_undone };

// Records "done" unless the step was already undone. Retryable errors come back as errors.
Result<LedgerDo> ledger_do(broker::KeyValue& ledger, const std::string& key);
// Records "undone" (also when the step never happened: a tombstone). True if it had been done.
Result<bool> ledger_undo(broker::KeyValue& ledger, const std::string& key);

}  // namespace fleet::demo
