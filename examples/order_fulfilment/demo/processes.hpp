// The demo's worker processes: started from the fleet-worker binary, each with its own log
// file, SIGKILLed and restarted on demand (--chaos), stopped with SIGTERM at the end. Each
// process slot has a stable name its replacements inherit (FLEET_KAFKA_INSTANCE_ID=demo-<slot>:
// on Kafka a replacement takes the killed process's partitions back without a rebalance).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <mutex>
#include <random>
#include <string>
#include <vector>

namespace fleet::demo {

class Processes {
 public:
  Processes(std::filesystem::path binary, std::filesystem::path log_dir,
            std::vector<std::string> environment);
  ~Processes();  // stops every process still running
  Processes(const Processes&) = delete;
  Processes& operator=(const Processes&) = delete;

  void start(const std::string& role, int count);
  // Another program under the same care (killed and restarted by --chaos too): argv[0] is the
  // binary, `name` names its log.
  void start_command(const std::string& name, std::vector<std::string> argv);
  // SIGKILLs one random worker and starts a replacement with the same role after
  // `restart_delay` (as a supervisor's restart delay would; the slot stays empty meanwhile).
  // Returns its role.
  std::string kill_and_restart(std::mt19937_64& random,
                               std::chrono::milliseconds restart_delay = {});
  // SIGTERM to all, then waits (each drains); true if every one exited 0.
  bool stop_all();
  // Processes that exited on their own since the last call, as "role (pid): status" lines;
  // each is started again, as a supervisor's restart policy would.
  std::vector<std::string> restart_exited();
  const std::filesystem::path& log_dir() const { return log_dir_; }

 private:
  struct Worker {
    std::string role;
    std::string slot;  // "<role>-<n>", kept by its replacements (Kafka static membership)
    std::vector<std::string> argv;
    pid_t pid = -1;
  };
  pid_t spawn(const Worker& worker);

  std::filesystem::path binary_;
  std::filesystem::path log_dir_;
  std::vector<std::string> environment_;
  std::mutex mutex_;
  std::vector<Worker> workers_;
  int spawned_ = 0;
};

}  // namespace fleet::demo
