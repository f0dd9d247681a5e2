#include "nautilus/core/strings.hpp"

namespace nautilus::core {

std::string_view trim(std::string_view s) noexcept {
  constexpr std::string_view kSpace = " \t\n\v\f\r";
  const std::size_t first = s.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(kSpace) - first + 1);
}

std::vector<std::string> split_list(std::string_view s, char sep) {
  std::vector<std::string> out;
  while (true) {
    const std::size_t j = s.find(sep);
    if (const auto item = trim(s.substr(0, j)); !item.empty()) out.emplace_back(item);
    if (j == std::string_view::npos) return out;
    s.remove_prefix(j + 1);
  }
}

}  // namespace nautilus::core
