#include "fleet/outbox/store.hpp"
#include "stores.hpp"

namespace fleet::outbox {

Result<std::unique_ptr<OutboxStore>> open_store(std::string_view url) {
  if (url.starts_with("sqlite:")) {
    std::string_view path = url.substr(7);
    if (path.starts_with("//")) path.remove_prefix(2);  // sqlite://PATH reads as sqlite:PATH
    if (path.empty()) return fail(Errc::invalid_argument, "sqlite: needs a path");
    return sqlite::open_store(std::string(path));
  }
  if (url.starts_with("postgres://") || url.starts_with("postgresql://")) {
    return postgres::open_store(std::string(url));
  }
  return fail(Errc::invalid_argument, "unknown outbox database '" + std::string(url) +
                                          "' (expected sqlite:PATH or postgres://...)");
}

}  // namespace fleet::outbox
