// Typed engine settings. Each engine declares its settings once, in its EngineInfo (name,
// type, default, allowed range or values, a line of doc); from that declaration come parsing
// (TOML keeping TOML's types, `--set engine.key=value` as text), validation at start-up (an
// unknown key or a bad value is an error naming `engine.key`), `nautilus engines --settings`
// and the settings tables in docs/CONFIGURATION.md.
//
//   .settings = {
//       Setting::choice("source", "replay", {"replay", "synthetic", "none"}, "Where records come
//       from"), Setting::number("speed", 60, 0, {}, "Replay speed: 1 real time, 0 as fast as
//       possible"), Setting::list("symbols", {}, "Synthetic symbols", &check_symbol),
//   }
//   ...
//   double speed = ctx.settings().number("speed");   // validated, default filled in
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "nautilus/core/error.hpp"
#include "nautilus/core/setting_value.hpp"

namespace nautilus::engine {

using core::SettingValue;

enum class SettingType : std::uint8_t { kBool, kInt, kDouble, kString, kChoice, kList };

// Why a string (or a list's item) is not acceptable, or nullopt when it is.
using SettingCheck = std::optional<std::string> (*)(std::string_view value);

struct Setting {
  std::string name;
  SettingType type = SettingType::kString;
  SettingValue default_value;
  std::optional<double> min;  // numbers, inclusive
  std::optional<double> max;
  std::vector<std::string> choices;  // kChoice
  std::string doc;
  SettingCheck check = nullptr;  // strings and list items

  [[nodiscard]] static Setting boolean(std::string name, bool dflt, std::string doc);
  [[nodiscard]] static Setting integer(std::string name, std::int64_t dflt,
                                       std::optional<double> min, std::optional<double> max,
                                       std::string doc);
  [[nodiscard]] static Setting number(std::string name, double dflt, std::optional<double> min,
                                      std::optional<double> max, std::string doc);
  [[nodiscard]] static Setting text(std::string name, std::string dflt, std::string doc,
                                    SettingCheck check = nullptr);
  [[nodiscard]] static Setting choice(std::string name, std::string dflt,
                                      std::vector<std::string> choices, std::string doc);
  [[nodiscard]] static Setting list(std::string name, std::vector<std::string> dflt,
                                    std::string doc, SettingCheck item_check = nullptr);

  // "number >= 0", "one of replay|synthetic|none", ... (for --settings and the docs)
  [[nodiscard]] std::string type_text() const;
  [[nodiscard]] std::string default_text() const;
};

// What a user gave for one engine, before validation: TOML values keep their types; `--set`
// values are text, parsed by the declared type.
class EngineConfig {
 public:
  struct Given {
    SettingValue value;
    bool text = false;  // from the command line: parse by the setting's type
  };
  using Values = std::map<std::string, Given, std::less<>>;

  EngineConfig() = default;
  // A value as text (`--set key=value`).
  void set(std::string key, std::string value) {
    values_[std::move(key)] = Given{std::move(value), true};
  }
  // A typed value (a TOML file).
  void set_typed(std::string key, SettingValue value) {
    values_[std::move(key)] = Given{std::move(value), false};
  }
  [[nodiscard]] bool has(std::string_view key) const { return values_.contains(key); }
  [[nodiscard]] const Values& values() const noexcept { return values_; }

 private:
  Values values_;
};

// An engine's settings after validation: every declared setting has a value (given or
// default). Asking for a setting the engine did not declare, or by the wrong type, is a
// programmer error (std::logic_error), never a user's.
class EngineSettings {
 public:
  EngineSettings() = default;
  [[nodiscard]] bool boolean(std::string_view name) const { return get<bool>(name); }
  [[nodiscard]] std::int64_t integer(std::string_view name) const {
    return get<std::int64_t>(name);
  }
  [[nodiscard]] double number(std::string_view name) const { return get<double>(name); }
  [[nodiscard]] const std::string& text(std::string_view name) const {
    return get<std::string>(name);
  }
  [[nodiscard]] const std::vector<std::string>& list(std::string_view name) const {
    return get<std::vector<std::string>>(name);
  }
  // Every setting in force, by name (`GET /settings` shows them).
  [[nodiscard]] const std::map<std::string, SettingValue, std::less<>>& values() const noexcept {
    return values_;
  }

 private:
  friend core::Result<EngineSettings> resolve_settings(std::string_view, std::span<const Setting>,
                                                       const EngineConfig&);
  template <class T>
  const T& get(std::string_view name) const;

  std::map<std::string, SettingValue, std::less<>> values_;
};

// Validates `given` against the declaration; errors name `<engine>.<key>` and what is wrong.
[[nodiscard]] core::Result<EngineSettings> resolve_settings(std::string_view engine,
                                                            std::span<const Setting> declared,
                                                            const EngineConfig& given);

// A SettingCheck for instrument symbols.
[[nodiscard]] std::optional<std::string> check_symbol(std::string_view value);

// The settings of one engine as a Markdown table (`nautilus engines --settings`, the docs).
[[nodiscard]] std::string settings_markdown(std::span<const Setting> declared);

}  // namespace nautilus::engine
