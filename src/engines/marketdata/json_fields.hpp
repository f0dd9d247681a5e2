// Small Boost.JSON helpers shared by the sources' parsers (adapters.cpp, adapters_public.cpp).
// Private to the marketdata engine.
#pragma once

#include <boost/json.hpp>
#include <charconv>
#include <optional>
#include <string_view>

namespace nautilus::marketdata::detail {

// The string member `key` of `o`, or null when absent or not a string.
inline const boost::json::string* str(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr ? v->if_string() : nullptr;
}

// A decimal number written as text, the whole of `s`; nullopt otherwise (empty included).
inline std::optional<double> number(std::string_view s) {
  double v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace nautilus::marketdata::detail
