// Dead letters counted per group, ServicePulse style: one line per subject, error, type or role.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "fleet/dlq/dead_letter.hpp"

namespace fleet::dlq {

enum class GroupBy { subject, error, type, role };

struct Group {
  std::string key;  // for GroupBy::error: "class: message"
  std::size_t count = 0;
  std::optional<Time> oldest;
  std::optional<Time> newest;
};

// Largest group first; ties by key.
std::vector<Group> group(const std::vector<DeadLetter>& entries, GroupBy by);

}  // namespace fleet::dlq
