#pragma once

#include <cstdint>
#include <string_view>

namespace nautilus::bus::testing {

struct Tick {
  static constexpr std::string_view kTypeName = "test_tick";
  std::int64_t n = 0;
};

}  // namespace nautilus::bus::testing
