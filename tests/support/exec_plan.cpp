#include "exec_plan.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <string_view>

extern char** environ;

namespace fleet::test {
namespace {

std::string_view name_of(std::string_view entry) {
  return entry.substr(0, entry.find('='));
}

// The first executable `command` on PATH; the command itself when none is (exec then fails).
std::string resolve(const std::string& command) {
  if (command.find('/') != std::string::npos) return command;
  const char* path = std::getenv("PATH");
  std::string_view dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  while (!dirs.empty()) {
    const auto end = dirs.find(':');
    const std::string candidate = std::string(dirs.substr(0, end)) + "/" + command;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    dirs = end == std::string_view::npos ? std::string_view() : dirs.substr(end + 1);
  }
  return command;
}

void redirect(const char* path, int flags, int fd) {
  if (path == nullptr) return;
  const int opened = ::open(path, flags, 0600);
  if (opened < 0) ::_exit(127);
  ::dup2(opened, fd);
  if (opened != fd) ::close(opened);
}

}  // namespace

ExecPlan::ExecPlan(const std::vector<std::string>& argv, const std::vector<std::string>& env)
    : path_(argv.empty() ? std::string() : resolve(argv.front())) {
  strings_ = argv;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    bool replaced = false;
    for (const auto& extra : env) replaced = replaced || name_of(extra) == name_of(*entry);
    if (!replaced) strings_.emplace_back(*entry);
  }
  strings_.insert(strings_.end(), env.begin(), env.end());
  // strings_ no longer grows: pointers into it stay valid.
  for (std::size_t i = 0; i < strings_.size(); ++i) {
    (i < argv.size() ? argv_ : envp_).push_back(strings_[i].data());
  }
  argv_.push_back(nullptr);
  envp_.push_back(nullptr);
}

void ExecPlan::exec(const char* in, const char* out, const char* err,
                    int out_flags) const noexcept {
  redirect(in, O_RDONLY, 0);
  redirect(out, O_WRONLY | O_CREAT | out_flags, 1);
  if (err != nullptr && err == out) {
    ::dup2(1, 2);
  } else {
    redirect(err, O_WRONLY | O_CREAT | out_flags, 2);
  }
  ::execve(path_.c_str(), argv_.data(), envp_.data());
  ::_exit(127);
}

}  // namespace fleet::test
