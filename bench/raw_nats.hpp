// The baseline side of every benchmark: plain cnats calls, the way a hand-written consumer loop
// would make them. Deliberately independent of fleet's broker code.
#pragma once

#include <memory>
#include <stdexcept>
#include <string>

#include <nats/nats.h>

namespace fleet::bench::raw {

template <class T, void (*destroy)(T*)>
struct Deleter {
  void operator()(T* p) const { destroy(p); }
};
using Connection = std::unique_ptr<natsConnection, Deleter<natsConnection, natsConnection_Destroy>>;
using Js = std::unique_ptr<jsCtx, Deleter<jsCtx, jsCtx_Destroy>>;
using Sub = std::unique_ptr<natsSubscription, Deleter<natsSubscription, natsSubscription_Destroy>>;
using Msg = std::unique_ptr<natsMsg, Deleter<natsMsg, natsMsg_Destroy>>;

inline void check(natsStatus s, const char* what) {
  if (s != NATS_OK) {
    throw std::runtime_error(std::string(what) + ": " + natsStatus_GetText(s) + " " +
                             nats_GetLastError(nullptr));
  }
}

inline Connection connect(const std::string& url) {
  natsConnection* nc = nullptr;
  check(natsConnection_ConnectTo(&nc, url.c_str()), "connect");
  return Connection(nc);
}

inline Js jetstream(natsConnection* nc, jsOptions* options) {
  jsCtx* js = nullptr;
  check(natsConnection_JetStream(&js, nc, options), "jetstream");
  return Js(js);
}

}  // namespace fleet::bench::raw
