// Message priorities. A subscriber's queued higher-priority messages are delivered before its
// queued lower ones, so a FLASH_CRASH never waits behind a NORMAL backlog.
//
//   publisher.publish(topic, alert, {.priority = Priority::kFlashCrash});
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "nautilus/core/error.hpp"

namespace nautilus::bus {

enum class Priority : std::uint8_t {
  kLow = 0,
  kNormal = 1,
  kHigh = 2,
  kUrgent = 3,
  kFlashCrash = 4
};

inline constexpr std::size_t kPriorityCount = 5;
// Highest first: the order in which a consumer drains its lanes.
inline constexpr std::array<Priority, kPriorityCount> kPrioritiesHighFirst = {
    Priority::kFlashCrash, Priority::kUrgent, Priority::kHigh, Priority::kNormal, Priority::kLow};

[[nodiscard]] constexpr std::size_t index(Priority p) noexcept {
  return static_cast<std::size_t>(p);
}
// FLASH_CRASH and URGENT are never dropped silently and bypass producer batching.
[[nodiscard]] constexpr bool is_critical(Priority p) noexcept { return p >= Priority::kUrgent; }

// "FLASH_CRASH", "URGENT", "HIGH", "NORMAL", "LOW" (the spelling of the docs and the wire).
[[nodiscard]] std::string_view to_string(Priority p) noexcept;
[[nodiscard]] core::Result<Priority> parse_priority(std::string_view s);

}  // namespace nautilus::bus
