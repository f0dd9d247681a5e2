#include "nautilus/engine/rejections.hpp"

#include <fmt/format.h>

namespace nautilus::engine {

void Rejections::add(std::string_view why, std::string_view what) noexcept {
  if (count_.fetch_add(1, std::memory_order_relaxed) >= printed_) return;
  try {
    fmt::print(stderr, "{}: ignored {} ({})\n", engine_, why, what);
  } catch (...) {  // a full or closed stderr must not take the engine down
  }
}

}  // namespace nautilus::engine
