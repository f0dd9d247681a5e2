// A setting's value as a user gave it (a TOML file keeps its types) or as an engine declared
// it: a bool, an integer, a number, a string, or a list of strings. Shared by the TOML loader
// (config) and the engines' typed settings (engine/settings.hpp).
//
//   core::SettingValue v = std::int64_t{42};
//   if (const auto* n = std::get_if<std::int64_t>(&v)) ...
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace nautilus::core {

using SettingValue =
    std::variant<bool, std::int64_t, double, std::string, std::vector<std::string>>;

}  // namespace nautilus::core
