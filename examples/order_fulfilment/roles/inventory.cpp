// inventory: stock per SKU in KV bucket "inventory", one entry per SKU holding the stock left
// and the quantity each order holds (stock.hpp). A reservation and its stock change are one
// compare-and-set on that entry, so a crash can never apply one without the other, and a
// redelivered reserve finds its hold and does not reserve twice. A hold of 0 is a release (or a
// release that came before its reserve, after a timeout): a reserve arriving later is refused.
// Holds are forgotten after Rules::hold_retention_ms (two generations; stock.hpp).
#include <chrono>
#include <map>
#include <memory>
#include <mutex>

#include "fault.hpp"
#include "fleet/saga/participant.hpp"
#include "fleet/schemas/codec.hpp"
#include "order_fulfilment/orders.hpp"
#include "roles.hpp"
#include "stock.hpp"

namespace fleet::demo {
namespace {

constexpr int max_races = 64;

struct Change {
  std::string outcome;  // saga outcome to reply with
  std::string reason;
};

// The stock entries this process wrote last, by SKU, with their revisions: a change starts from
// the remembered entry instead of reading it back (a round trip and a decode of every hold), and
// its compare-and-set still fails if another process wrote since, which forgets the entry and
// reads it again. Changes of one SKU in this process run one at a time, so they do not race
// each other's compare-and-set.
class StockCache {
 public:
  // Reads the SKU's entry (or takes the remembered one), lets `edit` change it, writes it back
  // with compare-and-set.
  template <class Edit>
  Result<Change> update(broker::KeyValue& bucket, const std::string& sku, std::uint32_t start_stock,
                        Edit&& edit) {
    Slot& slot = slot_of(sku);
    std::lock_guard lock(slot.mutex);
    const std::string key = "sku." + broker::key_token(sku);  // any SKU makes one valid key
    for (int race = 0; race < max_races; ++race) {
      const bool fresh = !slot.known;
      if (fresh) {
        auto entry = bucket.get(key);
        if (!entry) return fail(entry.error());
        slot.stock = Stock{.left = start_stock};
        slot.revision = 0;
        if (*entry) {
          auto decoded = schemas::decode<Stock>((*entry)->value, stock_limits);
          if (!decoded) return fail(decoded.error());
          slot.stock = std::move(*decoded);
          slot.revision = (*entry)->revision;
        }
        slot.known = true;
      }
      bool write = false;
      Change change = edit(slot.stock, write);  // edits the remembered entry in place
      if (!write) {
        // Only a write checks a remembered entry against the store: a decision that writes
        // nothing (a duplicate, out of stock) is taken again on the stored entry.
        if (fresh) return change;
        slot.known = false;
        continue;
      }
      const std::string value = schemas::encode(slot.stock);
      auto written =
          slot.revision > 0 ? bucket.update(key, value, slot.revision) : bucket.create(key, value);
      if (written) {
        slot.revision = *written;
        return change;
      }
      slot.known = false;  // the edit is not stored: forget it, and read the entry again
      if (written.error().code != Errc::conflict) return fail(written.error());
    }
    return fail(Errc::conflict, "stock of " + sku + " keeps changing");
  }

 private:
  struct Slot {
    std::mutex mutex;
    bool known = false;  // stock and revision are the stored entry as this process wrote it
    Stock stock;
    std::uint64_t revision = 0;  // 0 = no entry yet
  };

  Slot& slot_of(const std::string& sku) {
    std::lock_guard lock(mutex_);
    auto& slot = slots_[sku];
    if (!slot) slot = std::make_unique<Slot>();
    return *slot;
  }

  std::mutex mutex_;
  std::map<std::string, std::unique_ptr<Slot>> slots_;  // one per SKU seen; never removed
};

}  // namespace

runtime::Role inventory_role(const Rules& rules) {
  return {
      .name = "inventory",
      .description = "reserves stock per SKU; refuses when out of stock; releases",
      .bindings = [rules](broker::Transport& transport, const runtime::RoleSettings& settings)
          -> Result<std::vector<runtime::Binding>> {
        auto opened = transport.key_value({.name = "inventory"});
        if (!opened) return fail(opened.error());
        std::shared_ptr<broker::KeyValue> bucket(std::move(*opened));
        auto cache = std::make_shared<StockCache>();
        const saga::Definition definition = order_saga(rules);
        // Stock holds make reserve and release idempotent: the inbox would only add two KV
        // calls per command.
        auto no_inbox = settings;
        no_inbox.inbox = false;
        return std::vector<runtime::Binding>{saga::participant_binding(
            definition, 0, steps_stream, no_inbox,
            [rules, bucket, cache](const schemas::StepCommand& command, runtime::Context& context) {
              if (inject_fault(rules.fault_rate)) return injected_fault();
              simulate_work(rules.step_work_ms);
              auto order = schemas::decode<schemas::OrderPlaced>(
                  std::string_view(command.data.data(), command.data.size()));
              if (!order) return runtime::Outcome::permanent(order.error().message, "decode");
              const std::string& id = order->order_id;
              auto change = cache->update(
                  *bucket, order->sku, rules.stock_per_sku, [&](Stock& stock, bool& write) {
                    const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                            std::chrono::system_clock::now().time_since_epoch())
                                            .count();
                    stock.age(now_ms, rules.hold_retention_ms);
                    const std::uint32_t* held = stock.hold(id);
                    if (command.compensate) {
                      if (held == nullptr || *held > 0) {
                        if (held != nullptr) stock.left += *held;
                        // 0: released, or released before reserved (a later reserve is refused)
                        stock.set_hold(id, 0);
                        write = true;
                      }
                      return Change{std::string(saga::outcome::compensated), {}};
                    }
                    if (held != nullptr) {
                      if (*held > 0) return Change{std::string(saga::outcome::done), {}};
                      return Change{std::string(saga::outcome::failed), "already cancelled"};
                    }
                    if (stock.left < order->quantity) {
                      return Change{std::string(saga::outcome::failed),
                                    "out of stock: " + order->sku + " has " +
                                        std::to_string(stock.left) + " left"};
                    }
                    stock.left -= order->quantity;
                    stock.set_hold(id, order->quantity);
                    write = true;
                    return Change{std::string(saga::outcome::done), {}};
                  });
              if (!change) return runtime::Outcome::failed(change.error(), "store");
              saga::reply(context, command, change->outcome, change->reason);
              return runtime::Outcome::ok();
            })};
      },
      .streams = streams()};
}

}  // namespace fleet::demo
