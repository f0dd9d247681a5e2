#include "nautilus/core/identifiers.hpp"

#include <mutex>
#include <string>
#include <unordered_set>

namespace nautilus::core {
namespace {

struct InternPool {
  std::mutex mu;
  // Node-based: element addresses never move, so returned views stay valid forever.
  std::unordered_set<std::string> strings;
};

InternPool& pool() {
  static auto* p = new InternPool();  // leaked on purpose: views must outlive static destructors
  return *p;
}

bool name_char(char c) noexcept {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '_':
    case '.':
    case ':':
    case '/':
    case '^':
    case '=':
    case '#':
    case '@':
    case '+':
    case '-':
      return true;
    default:
      return false;
  }
}

struct TransparentHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view v) const noexcept {
    return std::hash<std::string_view>{}(v);
  }
};

}  // namespace

Result<std::string_view> intern(std::string_view s) {
  if (s.empty()) return std::string_view(kEmptyName);
  // Decoders intern every topic, source and symbol of every message: a per-thread cache of
  // names already interned answers repeats without the pool's lock. (Views stay valid: the
  // pool never frees.)
  thread_local std::unordered_map<std::string, std::string_view, TransparentHash, std::equal_to<>>
      cache;
  if (auto it = cache.find(s); it != cache.end()) return it->second;
  auto& p = pool();
  std::lock_guard lock(p.mu);
  auto it = p.strings.find(std::string(s));
  if (it == p.strings.end()) {
    if (p.strings.size() >= kMaxInternedStrings) {
      return fail(ErrorCode::kCapacity, "name table full (" + std::to_string(kMaxInternedStrings) +
                                            " distinct names); refusing '" + std::string(s) + "'");
    }
    it = p.strings.emplace(s).first;
  }
  if (cache.size() >= 65536) cache.clear();  // bounded; refills from the pool
  cache.emplace(*it, std::string_view(*it));
  return std::string_view(*it);
}

std::size_t interned_count() {
  auto& p = pool();
  std::lock_guard lock(p.mu);
  return p.strings.size();
}

Result<void> validate_name(std::string_view s, std::size_t max_len, std::string_view what) {
  if (s.empty()) return fail(ErrorCode::kInvalidArgument, std::string(what) + " is empty");
  if (s.size() > max_len) {
    return fail(ErrorCode::kInvalidArgument,
                std::string(what) + " longer than " + std::to_string(max_len) + " characters");
  }
  for (char c : s) {
    if (!name_char(c)) {
      return fail(ErrorCode::kInvalidArgument, std::string(what) + " '" + std::string(s) +
                                                   "' has a character outside " +
                                                   "[A-Za-z0-9_.:/^=#@+-]");
    }
  }
  return {};
}

}  // namespace nautilus::core
