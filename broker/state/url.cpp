#include <string_view>

#include "fleet/broker/state_store.hpp"
#include "state/stores.hpp"

namespace fleet::broker::state {

Result<std::shared_ptr<Store>> open(const std::string& url) {
  const std::string_view text = url;
  if (text.starts_with("sqlite:")) {
    std::string_view path = text.substr(7);
    if (path.starts_with("//")) path.remove_prefix(2);  // sqlite://PATH reads as sqlite:PATH
    if (path.empty()) return fail(Errc::invalid_argument, "sqlite: needs a path");
    return open_sqlite(std::string(path));
  }
  if (text.starts_with("postgres://") || text.starts_with("postgresql://")) {
    return open_postgres(url);
  }
  return fail(Errc::invalid_argument,
              "unknown state store '" + url + "' (expected sqlite:PATH or postgresql://...)");
}

}  // namespace fleet::broker::state
