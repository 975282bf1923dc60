// Pieces of the Prometheus text exposition format (0.0.4) shared by every process that serves
// /metrics (workers, the outbox relay).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

namespace fleet::prometheus {

// Shortest text that reads back as the same double.
inline std::string number(double value) {
  char text[64];
  for (int precision = 6; precision <= 17; ++precision) {
    std::snprintf(text, sizeof text, "%.*g", precision, value);
    if (std::strtod(text, nullptr) == value) break;
  }
  return text;
}

// The HELP and TYPE lines that open a metric family.
inline void family(std::string& out, const char* name, const char* type, const char* help) {
  out += std::string("# HELP ") + name + " " + help + "\n";
  out += std::string("# TYPE ") + name + " " + type + "\n";
}

}  // namespace fleet::prometheus
