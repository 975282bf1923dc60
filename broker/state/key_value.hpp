// The KeyValue of a SQL state store, over two Sessions of one bucket: one for the caller's calls
// (behind a mutex) and one for the writer thread of put_async.
#pragma once

#include <memory>
#include <string>

#include "fleet/broker/key_value.hpp"
#include "state/session.hpp"

namespace fleet::broker::state {

std::unique_ptr<KeyValue> make_key_value(std::string bucket, std::unique_ptr<Session> calls,
                                         std::unique_ptr<Session> writer);

}  // namespace fleet::broker::state
