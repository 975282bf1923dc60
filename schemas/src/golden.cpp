#include "fleet/schemas/golden.hpp"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <iterator>
#include <system_error>

namespace fleet::schemas {
namespace {

// "v12.msgpack" -> 12; 0 when the name does not have that shape.
std::uint32_t version_from(const std::string& name) {
  constexpr std::string_view suffix = ".msgpack";
  if (name.size() <= 1 + suffix.size() || name[0] != 'v' || !name.ends_with(suffix)) return 0;
  const char* first = name.data() + 1;
  const char* last = name.data() + name.size() - suffix.size();
  std::uint32_t version = 0;
  auto [end, ec] = std::from_chars(first, last, version);
  return ec == std::errc{} && end == last ? version : 0;
}

GoldenCheck check_file(const Registry& registry, const std::filesystem::path& path,
                       const std::filesystem::path& dir) {
  GoldenCheck check;
  check.path = path;
  const auto relative = path.lexically_relative(dir);
  if (std::distance(relative.begin(), relative.end()) != 2) {
    check.error = "not a golden file: expected <type>/v<N>.msgpack";
    return check;
  }
  check.type = relative.begin()->string();
  check.version = version_from(path.filename().string());
  if (check.version == 0) {
    check.error = "not a golden file name: expected v<N>.msgpack with N >= 1";
    return check;
  }
  if (!registry.knows(check.type)) {
    check.error = "unknown event type '" + check.type + "'";
    return check;
  }
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec || size > DecodeLimits{}.max_bytes) {
    check.error = ec ? "cannot read: " + ec.message() : "larger than a body may be";
    return check;
  }
  std::ifstream in(path, std::ios::binary);
  std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) {
    check.error = "cannot read";
    return check;
  }
  auto upcasted = registry.upcast(check.type, body, check.version);
  if (!upcasted) {
    check.error = upcasted.error().message;
    return check;
  }
  check.upcasters = upcasted->applied;
  if (auto ok = registry.validate(check.type, body, check.version); !ok) {
    check.error = ok.error().message;
  }
  return check;
}

}  // namespace

std::size_t GoldenReport::failed() const {
  return static_cast<std::size_t>(
      std::count_if(files.begin(), files.end(), [](const auto& f) { return !f.error.empty(); }));
}

std::filesystem::path golden_path(const std::filesystem::path& dir, std::string_view type,
                                  std::uint32_t version) {
  return dir / std::string(type) / ("v" + std::to_string(version) + ".msgpack");
}

Result<GoldenReport> check_golden(const Registry& registry, const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    return fail(Errc::not_found, dir.string() + ": not a directory");
  }
  GoldenReport report;
  std::filesystem::recursive_directory_iterator it(dir, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    // Notes beside the bytes (README.md, .json renderings) are not golden files.
    if (it->is_regular_file(ec) && it->path().extension() == ".msgpack") {
      report.files.push_back(check_file(registry, it->path(), dir));
    }
  }
  if (ec) return fail(Errc::unavailable, dir.string() + ": " + ec.message());
  std::sort(report.files.begin(), report.files.end(),
            [](const auto& a, const auto& b) { return a.path < b.path; });
  for (const auto& type : registry.types()) {
    const auto current = registry.schema(type)->history.current;
    if (!std::filesystem::exists(golden_path(dir, type, current), ec)) {
      report.missing.push_back(type + " v" + std::to_string(current));
    }
  }
  return report;
}

}  // namespace fleet::schemas
