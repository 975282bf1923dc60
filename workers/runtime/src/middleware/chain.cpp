#include "fleet/runtime/handler.hpp"

namespace fleet::runtime {

Handler chain(Handler handler, const std::vector<Middleware>& middleware) {
  for (auto it = middleware.rbegin(); it != middleware.rend(); ++it) handler = (*it)(handler);
  return handler;
}

}  // namespace fleet::runtime
