#include "fleet/runtime/log.hpp"

#include <algorithm>

#include <spdlog/sinks/stdout_sinks.h>

namespace fleet::runtime::log {
namespace {

std::vector<std::string>& redacted() {
  static std::vector<std::string> names;
  return names;
}

}  // namespace

void configure(const Config& config) {
  auto logger = spdlog::stderr_logger_mt("fleet");
  // The message is the whole JSON object (built by write()); spdlog adds nothing around it.
  logger->set_pattern("%v");
  logger->set_level(config.level);
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(logger);
  redacted() = config.redact;
}

nlohmann::json event_fields(const schemas::Metadata& meta, std::string_view subject,
                            std::uint64_t attempt, std::string_view role) {
  nlohmann::json fields = {{"event_id", meta.id}, {"type", meta.type},
                           {"subject", subject},  {"correlation_id", meta.correlation_id},
                           {"attempt", attempt},  {"role", role}};
  // W3C traceparent "00-<trace id: 32 hex>-<span id: 16 hex>-<flags>".
  if (meta.traceparent.size() == 55) {
    fields["trace_id"] = meta.traceparent.substr(3, 32);
    fields["span_id"] = meta.traceparent.substr(36, 16);
  }
  const auto& names = redacted();
  for (auto& [name, value] : fields.items()) {
    if (std::find(names.begin(), names.end(), name) != names.end()) value = "[redacted]";
  }
  return fields;
}

void write(spdlog::level::level_enum level, std::string_view message, nlohmann::json fields) {
  if (!spdlog::should_log(level)) return;
  nlohmann::json line = {{"time", schemas::now_rfc3339()},
                         {"level", spdlog::level::to_string_view(level).data()},
                         {"msg", message}};
  if (fields.is_object()) line.update(fields);
  spdlog::log(level, "{}", line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace fleet::runtime::log
