#include "nautilus/net/prometheus.hpp"

#include <fmt/format.h>

#include <cmath>

namespace nautilus::net {

void PrometheusText::family(std::string_view name, std::string_view type, std::string_view help) {
  fmt::format_to(std::back_inserter(out_), "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

void PrometheusText::sample(std::string_view name, Labels labels, double value) {
  out_.append(name);
  if (labels.size() > 0) {
    out_.push_back('{');
    bool first = true;
    for (const auto& [k, v] : labels) {
      if (!first) out_.push_back(',');
      first = false;
      out_.append(k);
      out_.append("=\"");
      // Label values escape backslash, quote and newline (exposition format 0.0.4).
      for (char c : v) {
        if (c == '\\' || c == '"') {
          out_.push_back('\\');
          out_.push_back(c);
        } else if (c == '\n') {
          out_.append("\\n");
        } else {
          out_.push_back(c);
        }
      }
      out_.push_back('"');
    }
    out_.push_back('}');
  }
  if (std::isnan(value)) {
    out_.append(" NaN\n");
  } else if (value == std::floor(value) && std::fabs(value) < 1e15) {
    fmt::format_to(std::back_inserter(out_), " {}\n", static_cast<long long>(value));
  } else {
    fmt::format_to(std::back_inserter(out_), " {}\n", value);
  }
}

}  // namespace nautilus::net
