// A worker process running in the background for integration tests: started with fork/exec,
// its stderr in a file, signalled and reaped by the test. Killed with the test binary
// (PR_SET_PDEATHSIG) and when the object goes away.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace fleet::test {

struct Exit {
  int code = -1;   // exit status, -1 when killed by a signal
  int signal = 0;  // the signal that ended it, 0 when it exited
};

class WorkerProcess {
 public:
  // Runs argv with extra environment entries ("K=V"); stderr (and stdout) go to `log`.
  WorkerProcess(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                std::filesystem::path log);
  ~WorkerProcess();  // SIGKILL and reap if still running
  WorkerProcess(const WorkerProcess&) = delete;
  WorkerProcess& operator=(const WorkerProcess&) = delete;

  pid_t pid() const { return pid_; }
  void signal(int signal);
  // How it ended, once it did within `timeout`; nullopt while it is still running.
  std::optional<Exit> wait(std::chrono::milliseconds timeout);
  bool running() { return !wait(std::chrono::milliseconds(0)); }
  // What it wrote to stderr so far.
  std::string log() const;
  // For failure messages: how it ended once reaped; before that, which program it runs (whether
  // it got as far as its exec), its scheduler state (Z: exited) and the kernel function it waits
  // in.
  std::string describe() const;

 private:
  pid_t pid_ = -1;
  std::filesystem::path log_;
  std::optional<Exit> exit_;
};

}  // namespace fleet::test
