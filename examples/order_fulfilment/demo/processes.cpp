#include "processes.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace fleet::demo {

Processes::Processes(std::filesystem::path binary, std::filesystem::path log_dir,
                     std::vector<std::string> environment)
    : binary_(std::move(binary)),
      log_dir_(std::move(log_dir)),
      environment_(std::move(environment)) {}

Processes::~Processes() {
  (void)stop_all();
}

pid_t Processes::spawn(const Worker& worker) {
  const auto log = log_dir_ / (worker.role + "-" + std::to_string(++spawned_) + ".log");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);

  // The slot's static Kafka group membership: a replacement rejoins as the process it replaces.
  std::vector<std::string> env = {"FLEET_KAFKA_INSTANCE_ID=demo-" + worker.slot};
  env.insert(env.end(), environment_.begin(), environment_.end());
  for (char** e = environ; *e != nullptr; ++e) env.emplace_back(*e);
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = worker.argv;
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  pid_t pid = -1;
  const int rc = posix_spawn(&pid, args[0].c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("cannot start " + args[0] + ": " + std::strerror(rc));
  return pid;
}

void Processes::start(const std::string& role, int count) {
  for (int i = 0; i < count; ++i) start_command(role, {binary_.string(), "--role", role});
}

void Processes::start_command(const std::string& name, std::vector<std::string> argv) {
  std::lock_guard lock(mutex_);
  int same = 1;
  for (const auto& w : workers_) same += w.role == name ? 1 : 0;
  Worker worker{name, name + "-" + std::to_string(same), std::move(argv)};
  worker.pid = spawn(worker);
  workers_.push_back(std::move(worker));
}

std::string Processes::kill_and_restart(std::mt19937_64& random,
                                        std::chrono::milliseconds restart_delay) {
  std::size_t index = 0;
  {
    std::lock_guard lock(mutex_);
    if (workers_.empty()) return {};
    index = std::uniform_int_distribution<std::size_t>(0, workers_.size() - 1)(random);
    auto& victim = workers_[index];
    ::kill(victim.pid, SIGKILL);
    ::waitpid(victim.pid, nullptr, 0);
    victim.pid = -1;  // an empty slot: stop_all and restart_exited pass it by
  }
  std::this_thread::sleep_for(restart_delay);
  std::lock_guard lock(mutex_);
  auto& victim = workers_[index];  // workers_ does not grow once chaos runs
  victim.pid = spawn(victim);
  return victim.role;
}

bool Processes::stop_all() {
  std::lock_guard lock(mutex_);
  for (auto& w : workers_) {
    if (w.pid > 0) ::kill(w.pid, SIGTERM);
  }
  bool clean = true;
  for (auto& w : workers_) {
    if (w.pid <= 0) continue;
    int status = 0;
    ::waitpid(w.pid, &status, 0);
    clean = clean && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    w.pid = -1;
  }
  return clean;
}

std::vector<std::string> Processes::restart_exited() {
  std::lock_guard lock(mutex_);
  std::vector<std::string> exits;
  for (auto& w : workers_) {
    int status = 0;
    if (w.pid <= 0 || ::waitpid(w.pid, &status, WNOHANG) != w.pid) continue;
    exits.push_back(w.role + " (" + std::to_string(w.pid) + "): " +
                    (WIFEXITED(status) ? "exit " + std::to_string(WEXITSTATUS(status))
                                       : "signal " + std::to_string(WTERMSIG(status))));
    w.pid = spawn(w);
  }
  return exits;
}

}  // namespace fleet::demo
