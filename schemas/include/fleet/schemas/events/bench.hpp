// Events used by bench/ to measure the transport; not part of any business domain.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <msgpack.hpp>

namespace fleet::schemas {

// One benchmark message: `seq` detects loss and reordering, `data` pads to the wanted size.
struct Payload {
  static constexpr std::string_view type_name = "bench.Payload";
  static constexpr std::uint32_t schema_version = 1;

  std::uint64_t seq = 0;
  std::string data;

  bool operator==(const Payload&) const = default;
  MSGPACK_DEFINE_MAP(seq, data);
};

}  // namespace fleet::schemas
