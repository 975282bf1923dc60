// Golden files: one encoded body per event type per schema version, kept in the repository so a
// change that breaks old events fails a check instead of a decode in production. Layout:
// DIR/<type>/v<N>.msgpack, e.g. tests/golden/orders.OrderPlaced/v1.msgpack. A golden file is
// frozen once written: the code changes, the old bytes stay.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "fleet/error.hpp"
#include "fleet/schemas/registry.hpp"

namespace fleet::schemas {

struct GoldenCheck {
  std::filesystem::path path;
  std::string type;                    // from the folder name
  std::uint32_t version = 0;           // from the file name (0 when it does not parse)
  std::vector<std::string> upcasters;  // those that ran to bring it to the current version
  std::string error;                   // why it does not decode today; empty when it does
};

struct GoldenReport {
  std::vector<GoldenCheck> files;  // sorted by path
  // "orders.OrderPlaced v2": registered types with no golden file of their current version, so
  // the next breaking change would have nothing to be checked against.
  std::vector<std::string> missing;

  std::size_t failed() const;
};

// Decodes every *.msgpack file under `dir` with `registry` at the version its name says
// (upcasters included). Fails only when `dir` cannot be read; each bad file (unknown type, a
// name not shaped <type>/v<N>.msgpack, a body that does not decode) is an entry with an error.
Result<GoldenReport> check_golden(const Registry& registry, const std::filesystem::path& dir);

// Where the golden file of `type` at `version` lives under `dir`.
std::filesystem::path golden_path(const std::filesystem::path& dir, std::string_view type,
                                  std::uint32_t version);

}  // namespace fleet::schemas
