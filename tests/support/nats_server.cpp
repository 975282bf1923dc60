#include "nats_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <random>
#include <stdexcept>
#include <thread>

#include "exec_plan.hpp"

namespace fleet::test {
namespace {

bool port_accepts(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

// The first port of the kernel's ephemeral range (32768 unless configured otherwise).
int ephemeral_low() {
  std::ifstream range("/proc/sys/net/ipv4/ip_local_port_range");
  int low = 32768;
  range >> low;
  return low;
}

bool can_bind(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

// Below the ephemeral range: a port there cannot be taken as the source port of some outgoing
// connection between this check and the server's bind (a port the kernel hands out for port 0
// can).
int free_port() {
  thread_local std::mt19937 random{std::random_device{}()};
  const int low = 10000;
  const int high = std::max(low + 1000, ephemeral_low());
  std::uniform_int_distribution<int> pick(low, high - 1);
  for (int attempt = 0; attempt < 1000; ++attempt) {
    int port = pick(random);
    if (can_bind(port)) return port;
  }
  throw std::runtime_error("could not find a free port");
}

std::filesystem::path make_temp_dir(const std::string& prefix) {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base ? base : "/tmp") + "/" + prefix + "-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  return pattern;
}

NatsServer::NatsServer() : port_(free_port()), dir_(make_temp_dir("fleet-nats")) {
  // A port found free can be taken by another process before the server binds it: a first
  // start that fails (the server exited, or did not listen within 15 s) gets two more ports.
  for (int attempt = 1;; ++attempt) {
    try {
      start();
      return;
    } catch (const std::runtime_error&) {
      if (running() || attempt == 3) throw;
      port_ = free_port();
    }
  }
}

NatsServer::~NatsServer() {
  kill();
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

std::string NatsServer::url() const {
  return "nats://127.0.0.1:" + std::to_string(port_);
}

void NatsServer::start() {
  if (running()) return;
  const std::string port = std::to_string(port_);
  const std::string store = dir_.string();
  const std::string log = (dir_ / "server.log").string();
  const ExecPlan plan(
      {"nats-server", "-js", "-a", "127.0.0.1", "-p", port, "-sd", store, "-l", log});
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    // A crashed test binary must not leave its server running (and holding its stdout).
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    plan.exec(nullptr, nullptr, nullptr, 0);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("nats-server exited at start; see " + log);
    }
    if (port_accepts(port_)) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill();
  throw std::runtime_error("nats-server did not listen on port " + port + " within 15 s");
}

void NatsServer::stop() {
  if (!running()) return;
  ::kill(pid_, SIGTERM);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

void NatsServer::kill() {
  if (!running()) return;
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

void NatsServer::pause() {
  if (running()) ::kill(pid_, SIGSTOP);
}

void NatsServer::resume() {
  if (running()) ::kill(pid_, SIGCONT);
}

}  // namespace fleet::test
