#include "postgres_server.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <thread>
#include <vector>

#include <libpq-fe.h>

#include "exec_plan.hpp"
#include "nats_server.hpp"

namespace fleet::test {
namespace {

// Who initdb and postgres run as: the postgres user when this process is root (they refuse to
// run as root), this process's own user (nullopt) otherwise.
struct ServerUser {
  uid_t uid;
  gid_t gid;
};
std::optional<ServerUser> server_user() {
  if (::geteuid() != 0) return std::nullopt;
  const passwd* user = ::getpwnam("postgres");
  if (user == nullptr) throw std::runtime_error("running as root but no `postgres` user exists");
  return ServerUser{user->pw_uid, user->pw_gid};
}

// Runs argv as server_user(), output to `log`. Everything is looked up before the fork: the
// child only makes async-signal-safe calls (exec_plan.hpp).
pid_t spawn(const std::vector<std::string>& argv, const std::filesystem::path& log) {
  const ExecPlan plan(argv);
  const auto user = server_user();
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    if (user && (::setgid(user->gid) != 0 || ::setuid(user->uid) != 0)) ::_exit(126);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // after setuid, which clears it
    plan.exec("/dev/null", log.c_str(), log.c_str(), O_APPEND);
  }
  return pid;
}

void give_to_server_user(const std::filesystem::path& dir) {
  const auto user = server_user();
  if (user && ::chown(dir.c_str(), user->uid, user->gid) != 0) {
    throw std::runtime_error("cannot chown " + dir.string() + " to postgres");
  }
}

}  // namespace

std::filesystem::path PostgresServer::bin_dir() {
  const char* configured = std::getenv("FLEET_PG_BIN");
  return configured ? configured : "/usr/lib/postgresql/15/bin";
}

bool PostgresServer::available() {
  return ::access((bin_dir() / "initdb").c_str(), X_OK) == 0 &&
         ::access((bin_dir() / "postgres").c_str(), X_OK) == 0;
}

PostgresServer::PostgresServer() : port_(free_port()), dir_(make_temp_dir("fleet-pg")) {
  give_to_server_user(dir_);
  const auto log = dir_ / "initdb.log";
  pid_t pid = spawn({(bin_dir() / "initdb").string(), "-D", (dir_ / "data").string(), "-U",
                     "postgres", "-A", "trust", "-E", "UTF8", "--no-sync", "--no-instructions"},
                    log);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw std::runtime_error("initdb failed; see " + log.string());
  }
  start();
}

PostgresServer::~PostgresServer() {
  stop();
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

std::string PostgresServer::url() const {
  return "postgres://postgres@127.0.0.1:" + std::to_string(port_) + "/postgres";
}

void PostgresServer::start() {
  if (pid_ > 0) return;
  const auto log = dir_ / "server.log";
  // fsync off: a test server's data does not need to survive a power loss.
  pid_ = spawn({(bin_dir() / "postgres").string(), "-D", (dir_ / "data").string(), "-p",
                std::to_string(port_), "-k", dir_.string(), "-c", "listen_addresses=127.0.0.1",
                "-c", "fsync=off", "-c", "max_connections=50"},
               log);
  const std::string conninfo =
      "host=127.0.0.1 port=" + std::to_string(port_) + " user=postgres dbname=postgres";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("postgres exited at start; see " + log.string());
    }
    if (PQping(conninfo.c_str()) == PQPING_OK) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  stop();
  throw std::runtime_error("postgres did not accept connections within 30 s; see " + log.string());
}

void PostgresServer::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGINT);  // fast shutdown: ends sessions, checkpoints, exits
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

}  // namespace fleet::test
