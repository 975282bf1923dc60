// The worker's failure paths on the memory transport: dead-letter copies too large for the
// broker. Each waits for the outcome it checks; none relies on a duration.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "fleet/broker/memory.hpp"
#include "fleet/runtime/dead_letter.hpp"
#include "fleet/runtime/handler.hpp"
#include "fleet/runtime/metrics.hpp"
#include "fleet/runtime/worker.hpp"
#include "fleet/schemas/events/bench.hpp"

namespace {

// A delivery to build dead-letter copies from.
class Unsettled final : public fleet::broker::Delivery::Handle {
 public:
  fleet::Status ack() override { return {}; }
  fleet::Status retry_after(std::chrono::milliseconds) override { return {}; }
  fleet::Status in_progress() override { return {}; }
  fleet::Status terminate() override { return {}; }
};

}  // namespace

TEST_CASE("a dead-letter copy trimmed to fit keeps the event and says what was cut") {
  namespace dlq = fleet::runtime::dlq_header;
  const fleet::broker::Message original{.subject = "orders.placed",
                                        .headers = {{"Fleet-Id", "e1"}},
                                        .body = std::string(1000, 'b'),
                                        .dedup_id = "e1"};
  const fleet::broker::Delivery delivery(original, 3, 42, std::make_unique<Unsettled>());
  const fleet::runtime::Failure failure{.error_class = "decode",
                                        .message = std::string(300, 'm'),
                                        .role = "orders",
                                        .worker = "host:1"};
  const fleet::runtime::DeadLetterConfig config;
  auto header = [](const fleet::broker::Message& m, std::string_view name) {
    return std::string(fleet::header(m.headers, name).value_or("<absent>"));
  };

  const auto full = fleet::runtime::dead_letter_message(config, delivery, failure);
  CHECK(header(full, dlq::trimmed) == "<absent>");
  CHECK(header(full, dlq::error_message).size() == 300);

  const auto headers =
      fleet::runtime::dead_letter_message(config, delivery, failure, fleet::runtime::Trim::headers);
  CHECK(header(headers, dlq::trimmed) == "headers");
  CHECK(headers.body == original.body);
  CHECK(header(headers, "Fleet-Id") == "e1");
  for (auto kept :
       {dlq::original_subject, dlq::stream_sequence, dlq::error_class, dlq::attempts, dlq::role}) {
    CHECK_MESSAGE(header(headers, kept) == header(full, kept), kept);
  }
  CHECK(header(headers, dlq::error_message) == std::string(32, 'm'));
  CHECK(header(headers, dlq::worker) == "<absent>");
  CHECK(headers.dedup_id == full.dedup_id);
  std::size_t full_bytes = 0, trimmed_bytes = 0;
  for (const auto& [name, value] : full.headers) full_bytes += name.size() + value.size();
  for (const auto& [name, value] : headers.headers) trimmed_bytes += name.size() + value.size();
  CHECK(trimmed_bytes < full_bytes);

  const auto body =
      fleet::runtime::dead_letter_message(config, delivery, failure, fleet::runtime::Trim::body);
  CHECK(header(body, dlq::trimmed) == "headers,body");
  CHECK(header(body, dlq::original_body_bytes) == "1000");
  CHECK(body.body.empty());
  CHECK(header(body, dlq::error_class) == "decode");
}
