#include "process.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "exec_plan.hpp"
#include "nats_server.hpp"

namespace fleet::test {
namespace {

std::string slurp(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

}  // namespace

RunResult run(const std::vector<std::string>& argv, const std::string& input,
              const std::vector<std::string>& env) {
  // Files rather than pipes: no risk of a deadlock on large outputs, and simple to read back.
  const auto dir = make_temp_dir("fleet-run");
  const auto in_path = dir / "in", out_path = dir / "out", err_path = dir / "err";
  std::ofstream(in_path, std::ios::binary) << input;

  const ExecPlan plan(argv, env);
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) plan.exec(in_path.c_str(), out_path.c_str(), err_path.c_str(), O_TRUNC);
  int status = 0;
  ::waitpid(pid, &status, 0);
  RunResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.out = slurp(out_path);
  result.err = slurp(err_path);
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  return result;
}

}  // namespace fleet::test
