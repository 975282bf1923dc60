// A real nats-server for integration tests: JetStream on, loopback only, a free port and a
// private temp store dir. Stopped and its dir removed when the object goes away.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>

namespace fleet::test {

// A TCP port on 127.0.0.1 that was free a moment ago.
int free_port();
// A fresh empty directory under $TMPDIR; the caller removes it.
std::filesystem::path make_temp_dir(const std::string& prefix);

class NatsServer {
 public:
  NatsServer();  // starts at once; throws std::runtime_error if the server does not come up
  ~NatsServer();
  NatsServer(const NatsServer&) = delete;
  NatsServer& operator=(const NatsServer&) = delete;

  std::string url() const;
  int port() const { return port_; }
  const std::filesystem::path& store_dir() const { return dir_; }

  void start();   // same port and store dir as before; waits until clients can connect
  void stop();    // SIGTERM and wait (a clean shutdown flushes the store)
  void kill();    // SIGKILL and wait (a crash)
  void pause();   // SIGSTOP: connections stay open, nothing answers (a hung server)
  void resume();  // SIGCONT
  bool running() const { return pid_ > 0; }

 private:
  int port_;
  std::filesystem::path dir_;
  pid_t pid_ = -1;
};

}  // namespace fleet::test
