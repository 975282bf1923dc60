#include "suggested_stream.hpp"

#include <cctype>

namespace fleet::cli {

broker::StreamConfig suggested_stream(const std::string& subject) {
  const auto dot = subject.find('.');
  const std::string first = subject.substr(0, dot);
  std::string name;
  for (const unsigned char c : first) {
    name += std::isalnum(c) != 0 ? static_cast<char>(std::toupper(c)) : '_';
  }
  return {.name = name, .subjects = {dot == std::string::npos ? subject : first + ".>"}};
}

std::string streams_add_command(const broker::StreamConfig& stream) {
  std::string command = "fleet streams add " + stream.name;
  for (const auto& subject : stream.subjects) command += " --subjects '" + subject + "'";
  return command;
}

}  // namespace fleet::cli
