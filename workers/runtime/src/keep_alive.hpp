// Objects that threads the worker could not join may still use (a lane thread whose handler
// never returned): kept until the process exits, reachable so leak checkers stay quiet.
#pragma once

#include <memory>
#include <mutex>
#include <vector>

namespace fleet::runtime {

inline void keep_alive(std::shared_ptr<void> object) {
  // Never destroyed on purpose: a thread may still call this while the process exits.
  static auto* mutex = new std::mutex();
  static auto* kept = new std::vector<std::shared_ptr<void>>();
  std::lock_guard lock(*mutex);
  kept->push_back(std::move(object));
}

}  // namespace fleet::runtime
