#include "kafka/instance_name.hpp"

#include <unistd.h>

#include <map>
#include <mutex>
#include <string>

namespace fleet::broker::kafka {
namespace {

constexpr std::string_view hostname_token = "{hostname}";

// Without a host name, a name of this process alone: never shared with a live process (a
// shared name would fence it), though a replacement cannot reuse it either.
std::string this_hostname() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return "pid-" + std::to_string(::getpid());
  return name;
}

}  // namespace

std::string expand_instance_id(std::string_view configured, std::string_view hostname) {
  std::string expanded;
  for (auto at = configured.find(hostname_token); at != std::string_view::npos;
       at = configured.find(hostname_token)) {
    expanded.append(configured.substr(0, at)).append(hostname);
    configured.remove_prefix(at + hostname_token.size());
  }
  return expanded.append(configured);
}

std::string instance_name(const std::string& configured, const std::string& group) {
  static std::mutex mutex;
  static std::map<std::string, int> subscriptions;  // per instance name and group
  const std::string name = expand_instance_id(configured, this_hostname());
  std::lock_guard lock(mutex);
  const int n = ++subscriptions[name + '\n' + group];
  return n == 1 ? name : name + "#" + std::to_string(n);
}

}  // namespace fleet::broker::kafka
