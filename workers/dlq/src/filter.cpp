#include "fleet/dlq/filter.hpp"

#include <algorithm>
#include <cctype>

namespace fleet::dlq {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace

bool matches(const Filter& filter, const DeadLetter& entry) {
  if (!filter.subject.empty() && !subject_matches(filter.subject, entry.original_subject)) {
    return false;
  }
  if (!filter.type.empty() && filter.type != entry.type) return false;
  if (!filter.role.empty() && filter.role != entry.role) return false;
  if (!filter.error.empty()) {
    // "class: message" is the group key of `stats --by error`, so a group can be pasted here.
    const std::string needle = lower(filter.error);
    if (lower(entry.error_class + ": " + entry.error_message).find(needle) == std::string::npos) {
      return false;
    }
  }
  if (filter.since || filter.until) {
    if (!entry.failed_at) return false;
    if (filter.since && *entry.failed_at < *filter.since) return false;
    if (filter.until && *entry.failed_at >= *filter.until) return false;
  }
  return true;
}

Status scan_matching(broker::StreamStore& store, const Filter& filter,
                     std::string_view subject_prefix,
                     const std::function<bool(DeadLetter&)>& visit) {
  const std::string scan_subject =
      filter.subject.empty() ? "" : std::string(subject_prefix) + filter.subject;
  return store.scan(1, scan_subject, [&](broker::StoredMessage& stored) {
    DeadLetter entry = read_dead_letter(std::move(stored), subject_prefix);
    return !matches(filter, entry) || visit(entry);
  });
}

Result<std::vector<DeadLetter>> select(broker::StreamStore& store, const Filter& filter,
                                       std::string_view subject_prefix) {
  std::vector<DeadLetter> out;
  auto scanned = scan_matching(store, filter, subject_prefix, [&](DeadLetter& entry) {
    out.push_back(std::move(entry));
    return filter.limit == 0 || out.size() < filter.limit;
  });
  if (!scanned) return fail(scanned.error());
  return out;
}

}  // namespace fleet::dlq
