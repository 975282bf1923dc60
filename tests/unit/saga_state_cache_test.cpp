// The orchestrator's memory of the saga states it wrote (workers/saga, state_cache.hpp): what
// it answers for a running saga, an ended one, a stale one, and when it is full.
#include <doctest/doctest.h>

#include <string>

#include "fleet/saga/state_cache.hpp"

namespace {

using fleet::saga::SagaState;
using fleet::saga::StateCache;

SagaState saga(const std::string& id, std::string_view status, std::uint32_t step = 0) {
  return {.saga_id = id, .saga = "order_fulfilment", .status = std::string(status), .step = step};
}

}  // namespace

TEST_CASE("a saga the orchestrator wrote is remembered with the revision it was written at") {
  StateCache cache(16);
  CHECK_FALSE(cache.find("o-1").has_value());
  cache.written(saga("o-1", "running", 0), 7);
  cache.written(saga("o-1", "running", 1), 9);
  auto hit = cache.find("o-1");
  REQUIRE(hit.has_value());
  REQUIRE(hit->state != nullptr);
  CHECK(hit->state->step == 1);
  CHECK(hit->revision == 9);
}

TEST_CASE("an ended saga is remembered as ended, without its state") {
  StateCache cache(16);
  cache.written(saga("o-1", "running"), 3);
  cache.written(saga("o-2", "running"), 4);
  cache.written(saga("o-1", "completed", 2), 11);
  cache.written(saga("o-2", "failed"), 12);
  for (const char* id : {"o-1", "o-2"}) {
    auto hit = cache.find(id);
    REQUIRE(hit.has_value());
    CHECK(hit->state == nullptr);
  }
}

TEST_CASE("a saga whose remembered state turned out stale is read from the store again") {
  StateCache cache(16);
  cache.written(saga("o-1", "running"), 3);
  cache.forget("o-1");
  CHECK_FALSE(cache.find("o-1").has_value());
  cache.written(saga("o-1", "running", 2), 8);  // decided again on the stored state, written
  REQUIRE(cache.find("o-1").has_value());
  CHECK(cache.find("o-1")->revision == 8);
}

TEST_CASE("a full cache forgets the sagas written first, and capacity 0 remembers nothing") {
  StateCache cache(3);
  for (int i = 0; i < 5; ++i) cache.written(saga("o-" + std::to_string(i), "running"), i + 1);
  CHECK(cache.size() == 3);
  CHECK_FALSE(cache.find("o-0").has_value());
  CHECK_FALSE(cache.find("o-1").has_value());
  CHECK(cache.find("o-4").has_value());

  StateCache off(0);
  off.written(saga("o-1", "running"), 1);
  CHECK_FALSE(off.find("o-1").has_value());
}
