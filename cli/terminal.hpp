// Talking to a person at a terminal: confirmation prompts and a progress bar, both only when
// there is a terminal to talk to.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace fleet::cli {

bool stdin_is_terminal();
bool stderr_is_terminal();

// Asks `question` on stderr and reads a line from stdin; true for "y" or "yes".
bool confirm(const std::string& question);

// "\r[#####     ] 512/1000" on stderr (a plain counter when the total is 0 = unknown), redrawn
// at most every 100 ms; silent off a terminal.
class ProgressBar {
 public:
  explicit ProgressBar(std::string label);
  void update(std::uint64_t done, std::uint64_t total);
  void finish();  // ends the line if one was drawn

 private:
  std::string label_;
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace fleet::cli
