// The names of this process's threads right now (/proc/self/task/*/comm).
#pragma once

#include <filesystem>
#include <fstream>
#include <set>
#include <string>

namespace fleet::test {

inline std::set<std::string> thread_names() {
  std::set<std::string> names;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(task.path() / "comm");
    std::string name;
    if (std::getline(comm, name)) names.insert(name);
  }
  return names;
}

}  // namespace fleet::test
