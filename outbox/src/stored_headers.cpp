#include "stored_headers.hpp"

#include <chrono>

#include <nlohmann/json.hpp>

namespace fleet::outbox {

std::string headers_to_json(const Headers& headers) {
  nlohmann::json object = nlohmann::json::object();
  for (const auto& [name, value] : headers) object[name] = value;
  return object.dump();
}

Result<Headers> headers_from_json(std::string_view json) {
  Headers headers;
  try {
    const auto object = nlohmann::json::parse(json);
    if (!object.is_object()) return fail(Errc::decode, "stored headers are not a JSON object");
    for (const auto& [name, value] : object.items()) {
      if (!value.is_string()) return fail(Errc::decode, "stored header " + name + " is no string");
      headers.emplace(name, value.get<std::string>());
    }
  } catch (const nlohmann::json::exception& e) {
    return fail(Errc::decode, std::string("stored headers: ") + e.what());
  }
  return headers;
}

std::int64_t to_millis(std::chrono::system_clock::time_point time) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
}

}  // namespace fleet::outbox
