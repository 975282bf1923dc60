// Names the calling thread for `top -H`, `ps -L` and debuggers: "<what> <role>", cut to the
// 15 characters Linux keeps. Threads of one binding share the role; what they do tells them
// apart ("fetch", "lane", "confirm", "watchdog"; on Kafka "kpoll", "kcommit", "kproduce").
#pragma once

#include <pthread.h>

#include <algorithm>
#include <string>
#include <string_view>

namespace fleet {

inline void name_this_thread(std::string_view what, std::string_view role) {
  std::string name(what);
  if (!role.empty()) name.append(" ").append(role);
  name.resize(std::min<std::size_t>(name.size(), 15));
  ::pthread_setname_np(::pthread_self(), name.c_str());
}

}  // namespace fleet
