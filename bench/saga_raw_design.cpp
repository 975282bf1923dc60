// saga, raw design side: the broker operations of fleet's saga design written
// by hand in cnats, one thread, no framework (issue 15, item 3). Per saga, as
// fleet does them:
//   publishes    12: the start; "started", the first command and the watchdog
//   timer; 3 replies;
//                    twice "step.completed" and the next command; "completed"
//   deliveries    8: the start, 3 commands, 3 replies, and the timer, handed
//   back until it is
//                    due as fleet's orchestrator defers it
//   state writes  4: compare-and-set publishes to the KV bucket's subject
//                    (Nats-Expected-Last-Subject-Sequence), confirmed before
//                    the outputs they decide are published
// One push consumer over the inputs. Per fetched batch: decide every message,
// publish the state writes, wait for their acks, publish the outputs, wait for
// their acks, then ack the inputs (the timer: a nak with its delay). Like
// fleet's orchestrator with its state cache, the loop knows each saga's last
// revision (from the write's ack) and never reads state back. Lifecycle events
// are published and not consumed, as in fleet's side of this bench.
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "order_fulfilment/orders.hpp"
#include "saga_raw.hpp"

namespace fleet::bench::saga_bench {
namespace {

class RawDesignSaga : RawSagaLoop {
 public:
  RawDesignSaga(const Options& options, const std::string& tag, Tracker& tracker)
      : RawSagaLoop(options, tag, tracker, &RawDesignSaga::on_ack, this) {}

  void run() {
    while (running()) {
      auto batch = next_batch();
      // 1. Decide; 2. write the states; 3. publish what they decided; 4. settle
      // the inputs.
      std::vector<Decision> decisions;
      decisions.reserve(batch.size());
      for (natsMsg* msg : batch) decisions.push_back(decide(msg));
      for (auto& d : decisions) {
        if (!d.saga_id.empty()) write_state(d);
      }
      confirm([this](const Acked& a) { revisions_[saga_of(a.subject)] = a.sequence; });
      for (auto& d : decisions) {
        for (auto& out : d.outputs) publish(out.first, out.second);
        if (d.completes) tracker_.completed(saga_index(d.saga_id));
      }
      confirm([](const Acked&) {});
      for (std::size_t i = 0; i < batch.size(); ++i) {
        if (decisions[i].defer_ms > 0) {
          natsMsg_NakWithDelay(batch[i], decisions[i].defer_ms, nullptr);
        } else {
          natsMsg_Ack(batch[i], nullptr);
        }
        natsMsg_Destroy(batch[i]);
      }
    }
  }

 private:
  struct Decision {
    std::string saga_id;                                       // "" = no state write
    std::string state;                                         // the new state
    std::vector<std::pair<std::string, std::string>> outputs;  // subject, body
    bool completes = false;
    std::int64_t defer_ms = 0;  // > 0: hand the input back for this long
  };
  struct Acked {
    std::string subject;
    std::uint64_t sequence = 0;
  };

  Decision decide(natsMsg* msg) {
    const std::string subject = natsMsg_GetSubject(msg);
    const std::string_view kind = kind_of(subject);
    const char* body = natsMsg_GetData(msg);
    const auto size = static_cast<std::size_t>(natsMsg_GetDataLength(msg));
    auto unpacked = msgpack::unpack(body, size);
    Decision d;
    if (kind == "start") {
      auto order = unpacked.get().as<schemas::OrderPlaced>();
      std::string data(body, size);
      d.saga_id = order.order_id;
      d.state = pack_state(d.saga_id, 0, "running", data);
      d.outputs.emplace_back(tag_ + ".life.started", pack_event(d.saga_id, 0, data));
      d.outputs.emplace_back(tag_ + ".in.cmd", pack_event(d.saga_id, 0, data));
      d.outputs.emplace_back(tag_ + ".in.timer", pack_event(d.saga_id, 0, {}));
      running_.insert_or_assign(d.saga_id, std::move(data));
      return d;
    }
    auto event = unpacked.get().as<std::map<std::string, msgpack::object>>();
    const auto id = event.at("saga_id").as<std::string>();
    const auto step = event.at("step").as<std::uint32_t>();
    if (kind == "cmd") {
      d.outputs.emplace_back(tag_ + ".in.reply", pack_event(id, step, {}));
      return d;
    }
    if (kind == "timer") {
      // Not due within a run (step_timeout): handed back, as fleet's
      // orchestrator defers it.
      d.defer_ms = step_timeout.count();
      return d;
    }
    auto saga = running_.find(id);
    if (saga == running_.end()) return d;  // a duplicate of the last reply
    d.saga_id = id;
    if (step + 1 < steps) {
      d.state = pack_state(id, step + 1, "running", saga->second);
      d.outputs.emplace_back(tag_ + ".life.step.completed", pack_event(id, step, saga->second));
      d.outputs.emplace_back(tag_ + ".in.cmd", pack_event(id, step + 1, saga->second));
    } else {
      d.state = pack_state(id, step, "completed", saga->second);
      d.outputs.emplace_back(tag_ + ".life.completed", pack_event(id, step, saga->second));
      d.completes = true;
      running_.erase(saga);
    }
    return d;
  }

  // Compare-and-set: stored only if the key's last revision is the one this
  // loop wrote (0 for a new key). A refused write fails the run (confirm
  // throws): nobody else writes these keys.
  void write_state(const Decision& d) {
    const std::string subject = state_subject(d.saga_id);
    natsMsg* out = nullptr;
    raw::check(natsMsg_Create(&out, subject.c_str(), nullptr, d.state.data(),
                              static_cast<int>(d.state.size())),
               "msg");
    const auto it = revisions_.find(d.saga_id);
    const std::string expected = std::to_string(it == revisions_.end() ? 0 : it->second);
    natsMsgHeader_Set(out, "Nats-Expected-Last-Subject-Sequence", expected.c_str());
    if (js_PublishMsgAsync(js_.get(), &out, nullptr) != NATS_OK) {
      natsMsg_Destroy(out);
      throw std::runtime_error("kv write: " + std::string(nats_GetLastError(nullptr)));
    }
  }

  std::string saga_of(const std::string& kv_subject) const {
    return kv_subject.substr(state_subject("").size());
  }

  // Waits for every outstanding publish; hands each ack to `take`; throws on
  // any refusal. The acked messages are destroyed here, on this thread, once no
  // publish call can still read them.
  template <class Take>
  void confirm(Take&& take) {
    complete_publishes();
    std::vector<std::pair<natsMsg*, Acked>> acked;
    std::string refused;
    {
      std::lock_guard lock(mutex_);
      acked.swap(acked_);
      refused.swap(refused_);
    }
    for (auto& [msg, a] : acked) {
      take(a);
      natsMsg_Destroy(msg);
    }
    if (!refused.empty()) throw std::runtime_error("publish refused: " + refused);
  }

  // cnats' reply thread; cnats hands the message over with its ack.
  static void on_ack(jsCtx*, natsMsg* msg, jsPubAck* ack, jsPubAckErr* failure, void* closure) {
    auto& self = *static_cast<RawDesignSaga*>(closure);
    std::lock_guard lock(self.mutex_);
    if (ack == nullptr) {
      self.refused_ = failure != nullptr && failure->ErrText != nullptr ? failure->ErrText : "?";
    }
    self.acked_.push_back(
        {msg, Acked{natsMsg_GetSubject(msg), ack != nullptr ? ack->Sequence : 0}});
  }

  std::unordered_map<std::string, std::string> running_;      // saga id -> its input body
  std::unordered_map<std::string, std::uint64_t> revisions_;  // saga id -> last revision
  std::mutex mutex_;  // the two below, shared with the ack handler
  std::vector<std::pair<natsMsg*, Acked>> acked_;
  std::string refused_;
};

}  // namespace

double raw_design_saga(const Options& options, const std::string& tag, Tracker& tracker,
                       double rate) {
  ensure_saga_stream(options, tag);
  RawDesignSaga saga(options, tag, tracker);
  return drive(options, tag + ".in.start", tracker, rate, [&] { saga.run(); });
}

}  // namespace fleet::bench::saga_bench
