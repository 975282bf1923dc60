#include "ledger.hpp"

#include "fleet/runtime/state_write.hpp"

namespace fleet::demo {
namespace {
constexpr std::string_view done = "done";
constexpr std::string_view undone = "undone";
constexpr int max_races = 16;
}  // namespace

Result<LedgerDo> ledger_do(broker::KeyValue& ledger, const std::string& key) {
  for (int race = 0; race < max_races; ++race) {
    auto created = ledger.create(key, done);
    if (created) return LedgerDo::done;
    if (created.error().code != Errc::conflict) return fail(created.error());
    auto entry = ledger.get(key);
    if (!entry) return fail(entry.error());
    if (!*entry) continue;  // erased meanwhile: try again
    return (*entry)->value == done ? LedgerDo::already_done : LedgerDo::refused_undone;
  }
  return fail(Errc::conflict, "ledger " + key + " keeps changing");
}

Result<bool> ledger_undo(broker::KeyValue& ledger, const std::string& key) {
  for (int race = 0; race < max_races; ++race) {
    auto entry = ledger.get(key);
    if (!entry) return fail(entry.error());
    if (!*entry) {
      auto created = ledger.create(key, undone);
      if (created) return false;
      if (created.error().code != Errc::conflict) return fail(created.error());
      continue;
    }
    if ((*entry)->value == undone) return false;
    auto updated = ledger.update(key, undone, (*entry)->revision);
    if (updated) return true;
    if (updated.error().code != Errc::conflict) return fail(updated.error());
  }
  return fail(Errc::conflict, "ledger " + key + " keeps changing");
}

Result<LedgerDo> StagedLedger::do_step(runtime::Context& context, const std::string& key) {
  if (context.attempt() > 1 || take_conflicted(key)) return ledger_do(*ledger_, key);
  context.write_first(
      runtime::StateWrite(ledger_, key, std::string(done), 0,
                          [conflicted = conflicted_, key](const Result<std::uint64_t>& stored) {
                            if (stored || stored.error().code != Errc::conflict) return;
                            std::lock_guard lock(conflicted->mutex);
                            conflicted->keys.insert(key);
                          }));
  return LedgerDo::done;
}

bool StagedLedger::take_conflicted(const std::string& key) {
  std::lock_guard lock(conflicted_->mutex);
  return conflicted_->keys.erase(key) > 0;
}

}  // namespace fleet::demo
