#include "assignments.hpp"

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

namespace fleet::demo {
namespace {

// The durables the logs in `log_dir` report assigned so far.
std::set<std::string> assigned_durables(const std::filesystem::path& log_dir) {
  std::set<std::string> assigned;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(log_dir, error)) {
    if (entry.path().extension() != ".log") continue;
    std::ifstream log(entry.path());
    for (std::string line; std::getline(log, line);) {
      if (line.find("\"kafka partitions assigned\"") == std::string::npos) continue;
      const auto fields = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (fields.is_object() && fields.contains("durable") && fields["durable"].is_string()) {
        assigned.insert(fields["durable"].get<std::string>());
      }
    }
  }
  return assigned;
}

}  // namespace

std::vector<std::string> wait_for_assignments(const std::filesystem::path& log_dir,
                                              const std::vector<std::string>& durables,
                                              std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto assigned = assigned_durables(log_dir);
    std::vector<std::string> missing;
    std::ranges::copy_if(durables, std::back_inserter(missing),
                         [&](const std::string& durable) { return !assigned.contains(durable); });
    if (missing.empty() || std::chrono::steady_clock::now() >= deadline) return missing;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace fleet::demo
