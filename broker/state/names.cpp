#include "state/names.hpp"

#include <cctype>
#include <string>

namespace fleet::broker::state {
namespace {

constexpr int max_history = 64;  // JetStream's limit, kept so configs that fail there fail here

bool word_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_';
}

}  // namespace

Status check_bucket(const BucketConfig& config) {
  bool valid = !config.name.empty();
  for (char c : config.name) valid = valid && word_char(c);
  if (!valid) return fail(Errc::invalid_argument, "invalid bucket name '" + config.name + "'");
  if (config.ttl.count() < 0 || config.history < 1 || config.history > max_history ||
      config.replicas < 1) {
    return fail(Errc::invalid_argument, "bucket " + config.name + ": bad ttl/history/replicas");
  }
  return {};
}

Status check_key(std::string_view key) {
  bool valid = !key.empty() && key.front() != '.' && key.back() != '.';
  for (std::size_t i = 0; valid && i < key.size(); ++i) {
    const char c = key[i];
    if (c == '.' && key[i - 1] == '.') valid = false;
    if (!word_char(c) && c != '.' && c != '=' && c != '/') valid = false;
  }
  if (valid) return {};
  return fail(Errc::invalid_argument, "invalid key '" + std::string(key) + "'");
}

}  // namespace fleet::broker::state
