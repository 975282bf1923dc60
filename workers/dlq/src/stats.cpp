#include "fleet/dlq/stats.hpp"

#include <algorithm>
#include <map>

namespace fleet::dlq {
namespace {

std::string key_of(const DeadLetter& entry, GroupBy by) {
  switch (by) {
    case GroupBy::subject:
      return entry.original_subject;
    case GroupBy::type:
      return entry.type.empty() ? "(none)" : entry.type;
    case GroupBy::role:
      return entry.role.empty() ? "(none)" : entry.role;
    case GroupBy::error:
      break;
  }
  return entry.error_class + ": " + entry.error_message;
}

}  // namespace

std::vector<Group> group(const std::vector<DeadLetter>& entries, GroupBy by) {
  std::map<std::string, Group> groups;
  for (const auto& entry : entries) {
    const std::string key = key_of(entry, by);
    Group& g = groups[key];
    g.key = key;
    ++g.count;
    if (entry.failed_at) {
      if (!g.oldest || *entry.failed_at < *g.oldest) g.oldest = entry.failed_at;
      if (!g.newest || *entry.failed_at > *g.newest) g.newest = entry.failed_at;
    }
  }
  std::vector<Group> out;
  for (auto& [key, g] : groups) out.push_back(std::move(g));
  std::stable_sort(out.begin(), out.end(),
                   [](const Group& a, const Group& b) { return a.count > b.count; });
  return out;
}

}  // namespace fleet::dlq
