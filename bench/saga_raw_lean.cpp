// saga, raw lean side: a competent hand-written loop in cnats, one thread, no
// framework, as lean as a saga can be run (issue 15's baseline), not the
// operations of fleet's design:
//   publishes    8: the start, 3 commands, 3 replies, 1 "completed" event
//   deliveries   7: start, 3 commands, 3 replies (one push consumer, acks after
//   the batch's
//                   publishes are confirmed)
//   state writes 4: on start and per reply, plain asynchronous publishes to the
//   KV bucket's
//                   subject: the loop owns its sagas, so it never reads state
//                   back and needs no compare-and-set; no timer, no lifecycle
//                   events but the last
#include <map>
#include <string>
#include <unordered_map>

#include "order_fulfilment/orders.hpp"
#include "saga_raw.hpp"

namespace fleet::bench::saga_bench {
namespace {

class RawLeanSaga : RawSagaLoop {
 public:
  RawLeanSaga(const Options& options, const std::string& tag, Tracker& tracker)
      : RawSagaLoop(options, tag, tracker) {}

  void run() {
    while (running()) {
      auto batch = next_batch();
      for (natsMsg* msg : batch) handle(msg);
      complete_publishes();
      for (natsMsg* msg : batch) {
        natsMsg_Ack(msg, nullptr);
        natsMsg_Destroy(msg);
      }
    }
  }

 private:
  // The single owner of every saga it runs: the state is written (for a restart
  // to find) but never read back, so each write is a plain asynchronous publish
  // to the bucket's subject.
  void handle(natsMsg* msg) {
    const std::string subject = natsMsg_GetSubject(msg);
    const std::string_view kind = kind_of(subject);
    auto unpacked =
        msgpack::unpack(natsMsg_GetData(msg), static_cast<std::size_t>(natsMsg_GetDataLength(msg)));
    if (kind == "start") {
      auto order = unpacked.get().as<schemas::OrderPlaced>();
      std::string data(natsMsg_GetData(msg), static_cast<std::size_t>(natsMsg_GetDataLength(msg)));
      write_state(order.order_id, 0, data);
      publish(tag_ + ".in.cmd", pack_event(order.order_id, 0, data));
      running_.insert_or_assign(order.order_id, std::move(data));
      return;
    }
    auto event = unpacked.get().as<std::map<std::string, msgpack::object>>();
    const auto id = event.at("saga_id").as<std::string>();
    const auto step = event.at("step").as<std::uint32_t>();
    if (kind == "cmd") {
      publish(tag_ + ".in.reply", pack_event(id, step, {}));
      return;
    }
    // reply: write the next state, publish what follows.
    auto saga = running_.find(id);
    if (saga == running_.end()) return;  // a duplicate of the last reply
    write_state(id, step + 1, saga->second);
    if (step + 1 < steps) {
      publish(tag_ + ".in.cmd", pack_event(id, step + 1, saga->second));
    } else {
      publish(tag_ + ".life.completed", pack_event(id, step, {}));
      running_.erase(saga);
      tracker_.completed(saga_index(id));
    }
  }

  void write_state(const std::string& id, std::uint32_t step, const std::string& data) {
    const auto state = pack_state(id, step, "running", data);
    raw::check(js_PublishAsync(js_.get(), state_subject(id).c_str(), state.data(),
                               static_cast<int>(state.size()), nullptr),
               "kv write");
  }

  std::unordered_map<std::string, std::string> running_;  // saga id -> its input body
};

}  // namespace

double raw_lean_saga(const Options& options, const std::string& tag, Tracker& tracker,
                     double rate) {
  ensure_saga_stream(options, tag);
  RawLeanSaga saga(options, tag, tracker);
  return drive(options, tag + ".in.start", tracker, rate, [&] { saga.run(); });
}

}  // namespace fleet::bench::saga_bench
