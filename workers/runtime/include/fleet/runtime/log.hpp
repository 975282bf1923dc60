// Structured logs: one JSON object per line on stderr (spdlog). Payload bodies are never logged;
// header values whose names are configured as redacted are replaced by "[redacted]".
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "fleet/schemas/envelope.hpp"

namespace fleet::runtime::log {

struct Config {
  spdlog::level::level_enum level = spdlog::level::info;
  std::vector<std::string> redact;  // header names whose values never appear in logs
};

// Installs the JSON-lines logger as spdlog's default.
void configure(const Config& config);

// Fields every line about an event carries: event id, type, subject, correlation id, attempt,
// role, and the trace id and span id of its W3C traceparent.
nlohmann::json event_fields(const schemas::Metadata& meta, std::string_view subject,
                            std::uint64_t attempt, std::string_view role);

void write(spdlog::level::level_enum level, std::string_view message, nlohmann::json fields = {});

}  // namespace fleet::runtime::log
