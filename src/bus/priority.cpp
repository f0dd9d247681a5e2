#include "nautilus/bus/priority.hpp"

#include <string>

namespace nautilus::bus {

std::string_view to_string(Priority p) noexcept {
  switch (p) {
    case Priority::kLow:
      return "LOW";
    case Priority::kNormal:
      return "NORMAL";
    case Priority::kHigh:
      return "HIGH";
    case Priority::kUrgent:
      return "URGENT";
    case Priority::kFlashCrash:
      return "FLASH_CRASH";
  }
  return "UNKNOWN";
}

core::Result<Priority> parse_priority(std::string_view s) {
  for (Priority p : kPrioritiesHighFirst) {
    if (to_string(p) == s) return p;
  }
  return core::fail(
      core::ErrorCode::kParse,
      "priority '" + std::string(s) + "' is not one of FLASH_CRASH, URGENT, HIGH, NORMAL, LOW");
}

}  // namespace nautilus::bus
