#include "stream_for_subject.hpp"

#include <cctype>

#include "fleet/broker/subject.hpp"

namespace fleet::cli {

std::optional<std::string> capturing_stream(const std::vector<broker::StreamInfo>& streams,
                                            const std::string& subject) {
  for (const auto& stream : streams) {
    for (const auto& pattern : stream.subjects) {
      if (broker::subject_matches(pattern, subject)) return stream.name;
    }
  }
  return std::nullopt;
}

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
