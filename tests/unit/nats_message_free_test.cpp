// cnats' messages are freed by the thread that destroys them, not handed to cnats' collector
// thread (broker/jetstream/connection.cpp).
#include <doctest/doctest.h>

#include <dlfcn.h>

#include <nats/nats.h>

TEST_CASE("a destroyed cnats message is freed at once, not queued for cnats' collector thread") {
  // The natsGC_collect in effect for the whole process is fleet's, not the one inside libnats.
  void* in_effect = ::dlsym(RTLD_DEFAULT, "natsGC_collect");
  void* library = ::dlopen("libnats.so.3.4", RTLD_NOW | RTLD_NOLOAD);
  REQUIRE(library != nullptr);
  void* cnats_own = ::dlsym(library, "natsGC_collect");
  ::dlclose(library);
  REQUIRE(in_effect != nullptr);
  REQUIRE(cnats_own != nullptr);
  CHECK(in_effect != cnats_own);

  // It declines a message cnats registered with the collector: natsMsg_Destroy frees it inline.
  natsMsg* msg = nullptr;
  REQUIRE(natsMsg_Create(&msg, "fleet.test", nullptr, "x", 1) == NATS_OK);
  const auto collect = reinterpret_cast<bool (*)(void*)>(in_effect);
  CHECK_FALSE(collect(msg));
  natsMsg_Destroy(msg);
}
