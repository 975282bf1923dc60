// The static group member name (group.instance.id) of a subscription, from
// kafka::Config::instance_id.
#pragma once

#include <string>
#include <string_view>

namespace fleet::broker::kafka {

// `configured` with every "{hostname}" replaced by `hostname`.
std::string expand_instance_id(std::string_view configured, std::string_view hostname);

// The member name of this process's next subscription to `group`: the expanded configured name
// (with this machine's host name), then "#2", "#3"... for further subscriptions to the same
// group (names are per group, and two live members of one group must not share one).
std::string instance_name(const std::string& configured, const std::string& group);

}  // namespace fleet::broker::kafka
