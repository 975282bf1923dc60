// The backends behind fleet::broker::state::open (url.cpp).
#pragma once

#include <memory>
#include <string>

#include "fleet/broker/state_store.hpp"

namespace fleet::broker::state {

Result<std::shared_ptr<Store>> open_sqlite(const std::string& path);
Result<std::shared_ptr<Store>> open_postgres(const std::string& url);

}  // namespace fleet::broker::state
