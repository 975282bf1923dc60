// Keeps a burst of alike log lines to one per interval (time passed in; unit-tested without
// sleeping). An outage makes every in-flight message say the same thing at once ("follow-up
// publish failed; holding the message"); the first line of a kind is written, the others within
// the interval are counted, and the next line of that kind written carries that count. The
// metrics still count every one. Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace fleet::runtime::log {

class Throttle {
 public:
  using Time = std::chrono::steady_clock::time_point;

  explicit Throttle(std::chrono::milliseconds interval = std::chrono::seconds(1))
      : interval_(interval) {}

  // nullopt: leave this line out. Otherwise write it, with the number of lines of `kind` left out
  // since the last one written (0 for the first).
  std::optional<std::uint64_t> admit(std::string_view kind, Time now) {
    std::lock_guard lock(mutex_);
    auto it = kinds_.find(kind);
    if (it == kinds_.end()) {
      kinds_.emplace(std::string(kind), Kind{.written = now});
      return 0;
    }
    Kind& k = it->second;
    if (now - k.written < interval_) {
      ++k.left_out;
      return std::nullopt;
    }
    const std::uint64_t left_out = k.left_out;
    k = Kind{.written = now};
    return left_out;
  }

 private:
  struct Kind {
    Time written;
    std::uint64_t left_out = 0;
  };
  std::chrono::milliseconds interval_;
  std::mutex mutex_;
  std::map<std::string, Kind, std::less<>> kinds_;
};

}  // namespace fleet::runtime::log
