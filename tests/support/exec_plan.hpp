// A command prepared for exec in a forked child. After fork() in a process with threads, the
// child may only make async-signal-safe calls until it execs: no allocation, because a lock an
// allocator thread held at the fork stays held in the child forever and the child hangs before
// its first line of output. So everything the child needs is built here, before the fork.
#pragma once

#include <string>
#include <vector>

namespace fleet::test {

class ExecPlan {
 public:
  // argv[0] is looked up in PATH unless it contains a '/'. `env` entries ("K=V") are added to
  // this process's environment, replacing entries of the same name.
  explicit ExecPlan(const std::vector<std::string>& argv, const std::vector<std::string>& env = {});
  ExecPlan(const ExecPlan&) = delete;
  ExecPlan& operator=(const ExecPlan&) = delete;

  // In the child only: stdin from `in`, stdout to `out`, stderr to `err` (nullptr keeps the
  // inherited one; the same pointer for both shares one file; outputs are opened with
  // `out_flags`, e.g. O_TRUNC or O_APPEND), then exec.
  // Calls only async-signal-safe functions. Exits 127 when the exec fails.
  [[noreturn]] void exec(const char* in, const char* out, const char* err,
                         int out_flags) const noexcept;

 private:
  std::string path_;
  std::vector<std::string> strings_;  // owns what argv_ and envp_ point into
  std::vector<char*> argv_, envp_;
};

}  // namespace fleet::test
