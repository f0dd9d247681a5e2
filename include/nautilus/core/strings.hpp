// Small string helpers for settings and query parameters that list several values.
//
//   split_list(" AAPL, MSFT,,IBM ")   // {"AAPL", "MSFT", "IBM"}
//   split_list("a;b", ';')            // {"a", "b"}
//   trim("  x \n")                    // "x"
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace nautilus::core {

// `s` without the ASCII whitespace (space, \t, \n, \v, \f, \r) at either end.
[[nodiscard]] std::string_view trim(std::string_view s) noexcept;

// The items of a `sep`-separated list, each trimmed; empty items are dropped, so "", ",", and
// a trailing separator give no item (a list setting left blank means "none").
[[nodiscard]] std::vector<std::string> split_list(std::string_view s, char sep = ',');

}  // namespace nautilus::core
