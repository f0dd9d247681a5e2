#include "nautilus/bus/topic.hpp"

#include <string>

namespace nautilus::bus {

bool is_matching(std::string_view topic, std::string_view pattern) noexcept {
  // Greedy wildcard match with single-star backtracking: O(|topic|) for patterns with one
  // `*`, O(|topic| * |pattern|) worst case. `*` spans dots, so no segment logic is needed.
  std::size_t t = 0;
  std::size_t p = 0;
  std::size_t star = std::string_view::npos;
  std::size_t star_t = 0;
  while (t < topic.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == topic[t])) {
      ++t;
      ++p;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      star_t = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++star_t;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

core::Result<std::string> normalize_pattern(std::string_view pattern) {
  if (pattern == "ALL") return std::string("*");
  if (pattern.empty()) return core::fail(core::ErrorCode::kInvalidArgument, "pattern is empty");
  if (pattern.size() > kMaxTopicLength) {
    return core::fail(core::ErrorCode::kInvalidArgument, "pattern longer than 256 characters");
  }
  std::string plain;
  plain.reserve(pattern.size());
  for (char c : pattern) plain += (c == '*' || c == '?') ? 'x' : c;
  if (auto ok = core::validate_name(plain, kMaxTopicLength, "pattern"); !ok) {
    return core::fail(
        core::ErrorCode::kInvalidArgument,
        "pattern '" + std::string(pattern) + "' has a character outside [A-Za-z0-9_.:/^=#@+-*?]");
  }
  // Collapse runs of '*': equivalent, and keeps matching linear.
  std::string out;
  out.reserve(pattern.size());
  for (char c : pattern) {
    if (c == '*' && !out.empty() && out.back() == '*') continue;
    out += c;
  }
  return out;
}

std::string_view topic_family(std::string_view topic) noexcept {
  const auto dot = topic.find('.');
  return dot == std::string_view::npos ? topic : topic.substr(0, dot);
}

}  // namespace nautilus::bus
