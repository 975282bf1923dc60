#include "worker_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>

#include "eventually.hpp"
#include "exec_plan.hpp"

namespace fleet::test {

WorkerProcess::WorkerProcess(const std::vector<std::string>& argv,
                             const std::vector<std::string>& env, std::filesystem::path log)
    : log_(std::move(log)) {
  const ExecPlan plan(argv, env);
  const pid_t parent = ::getpid();
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // the test died before prctl took effect
    plan.exec("/dev/null", log_.c_str(), log_.c_str(), O_APPEND);
  }
}

WorkerProcess::~WorkerProcess() {
  if (exit_) return;
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
}

void WorkerProcess::signal(int signal) {
  if (!exit_) ::kill(pid_, signal);
}

std::optional<Exit> WorkerProcess::wait(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + scaled(timeout);
  while (!exit_) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      exit_ = WIFEXITED(status) ? Exit{WEXITSTATUS(status), 0} : Exit{-1, WTERMSIG(status)};
      break;
    }
    if (std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return exit_;
}

std::string WorkerProcess::log() const {
  std::ifstream in(log_, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::string WorkerProcess::describe() const {
  if (exit_) {
    return "pid " + std::to_string(pid_) + " ended: exit code " + std::to_string(exit_->code) +
           ", signal " + std::to_string(exit_->signal);
  }
  const auto proc = std::filesystem::path("/proc") / std::to_string(pid_);
  std::error_code error;
  const auto exe = std::filesystem::read_symlink(proc / "exe", error);
  std::string stat, wchan;
  std::getline(std::ifstream(proc / "stat"), stat);
  std::getline(std::ifstream(proc / "wchan"), wchan);
  const auto state = stat.rfind(") ");  // after "pid (comm) "
  return "pid " + std::to_string(pid_) + ", program " + (exe.empty() ? "?" : exe.string()) +
         ", state " + (state == std::string::npos ? "?" : stat.substr(state + 2, 1)) +
         ", waiting in " + (wchan.empty() ? "?" : wchan);
}

}  // namespace fleet::test
