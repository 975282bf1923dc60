// Fuzz target: NATS header blocks read in place (broker/jetstream/header_block.hpp), text a
// broker or a foreign producer controls. Any input is refused or split without reading past
// it; a block that splits encodes again (make_message) into one that splits into the same
// fields.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nats/nats.h>

#include "jetstream/header_block.hpp"

namespace {

void check(bool holds) {
  if (!holds) __builtin_trap();  // the fuzzer records a trap as a crash with its input
}

// What make_message sends for a value: CR and LF as spaces.
std::string as_sent(std::string_view value) {
  std::string out(value);
  for (char& c : out) {
    if (c == '\r' || c == '\n') c = ' ';
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace fleet::broker::jetstream;
  // natsMsg_Destroy needs the library's state (its collector's lock), as in the transport.
  static const bool opened = nats_Open(-1) == NATS_OK;
  check(opened);
  // A copy of exactly `size` bytes, so a read past the block is a sanitizer finding.
  const std::string text(reinterpret_cast<const char*>(data), size);
  const auto block = HeaderBlock::parse(text);
  if (!block) return 0;
  (void)block->status();
  std::vector<std::string> values;
  std::vector<HeaderField> fields;
  block->for_each([&](std::string_view name, std::string_view value) {
    check(block->get(name).has_value());
    if (!value.empty()) fields.push_back({name, value});  // make_message skips empty extras
  });
  values.reserve(fields.size());
  for (auto& field : fields) field.value = values.emplace_back(as_sent(field.value));
  auto msg = make_message("fuzz.subject", fleet::Headers{}, fields, "body");
  check(msg.has_value());
  const auto again = HeaderBlock::of(msg->get());
  check(again.has_value());
  std::size_t i = 0;
  again->for_each([&](std::string_view name, std::string_view value) {
    check(i < fields.size() && name == fields[i].name && value == fields[i].value);
    ++i;
  });
  check(i == fields.size());
  return 0;
}
