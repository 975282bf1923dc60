// Factories behind open_store(url), one per database.
#pragma once

#include <memory>
#include <string>

#include "fleet/outbox/store.hpp"

namespace fleet::outbox {
namespace sqlite {
Result<std::unique_ptr<OutboxStore>> open_store(const std::string& path);
}
namespace postgres {
Result<std::unique_ptr<OutboxStore>> open_store(const std::string& url);
}
}  // namespace fleet::outbox
