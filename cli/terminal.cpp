#include "terminal.hpp"

#include <unistd.h>

#include <iostream>

namespace fleet::cli {

bool stdin_is_terminal() {
  return ::isatty(STDIN_FILENO) == 1;
}
bool stderr_is_terminal() {
  return ::isatty(STDERR_FILENO) == 1;
}

bool confirm(const std::string& question) {
  std::cerr << question << " [y/N] " << std::flush;
  std::string answer;
  if (!std::getline(std::cin, answer)) return false;
  return answer == "y" || answer == "Y" || answer == "yes";
}

ProgressBar::ProgressBar(std::string label)
    : label_(std::move(label)), enabled_(stderr_is_terminal()) {}

void ProgressBar::update(std::uint64_t done, std::uint64_t total) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if ((total == 0 || done < total) && now - last_ < std::chrono::milliseconds(100)) return;
  last_ = now;
  drawn_ = true;
  if (total == 0) {  // not known in advance: a counter
    std::cerr << '\r' << label_ << ' ' << done << std::flush;
    return;
  }
  constexpr std::uint64_t width = 30;
  const std::uint64_t filled = done * width / total;
  std::cerr << '\r' << label_ << " [" << std::string(filled, '#')
            << std::string(width - filled, ' ') << "] " << done << '/' << total << std::flush;
}

void ProgressBar::finish() {
  if (drawn_) std::cerr << '\n';
  drawn_ = false;
}

}  // namespace fleet::cli
