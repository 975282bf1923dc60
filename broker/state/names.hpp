// JetStream KV's rules for bucket names, keys and bucket configs, so a deployment that moves
// between JetStream and a SQL state store keeps working with the same names.
#pragma once

#include <string_view>

#include "fleet/broker/key_value.hpp"

namespace fleet::broker::state {

// Errc::invalid_argument for a name other than [-_a-zA-Z0-9]+, a negative TTL or a history
// outside 1..64.
Status check_bucket(const BucketConfig& config);

// Errc::invalid_argument for a key other than [-/_=.a-zA-Z0-9]+ or with an empty `.` token.
Status check_key(std::string_view key);

}  // namespace fleet::broker::state
