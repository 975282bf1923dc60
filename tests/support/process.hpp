// Child processes for tests: run a command, capture its output, signal it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace fleet::test {

struct RunResult {
  int exit_code = -1;  // -1 when killed by a signal
  std::string out;
  std::string err;
};

// Runs argv to completion with `input` on stdin and extra environment entries ("K=V").
RunResult run(const std::vector<std::string>& argv, const std::string& input = "",
              const std::vector<std::string>& env = {});

}  // namespace fleet::test
