#include "nautilus/engine/settings.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>

#include "nautilus/core/identifiers.hpp"
#include "nautilus/core/strings.hpp"

namespace nautilus::engine {

Setting Setting::boolean(std::string name, bool dflt, std::string doc) {
  return {.name = std::move(name),
          .type = SettingType::kBool,
          .default_value = dflt,
          .doc = std::move(doc)};
}
Setting Setting::integer(std::string name, std::int64_t dflt, std::optional<double> min,
                         std::optional<double> max, std::string doc) {
  return {.name = std::move(name),
          .type = SettingType::kInt,
          .default_value = dflt,
          .min = min,
          .max = max,
          .doc = std::move(doc)};
}
Setting Setting::number(std::string name, double dflt, std::optional<double> min,
                        std::optional<double> max, std::string doc) {
  return {.name = std::move(name),
          .type = SettingType::kDouble,
          .default_value = dflt,
          .min = min,
          .max = max,
          .doc = std::move(doc)};
}
Setting Setting::text(std::string name, std::string dflt, std::string doc, SettingCheck check) {
  return {.name = std::move(name),
          .type = SettingType::kString,
          .default_value = std::move(dflt),
          .doc = std::move(doc),
          .check = check};
}
Setting Setting::choice(std::string name, std::string dflt, std::vector<std::string> choices,
                        std::string doc) {
  return {.name = std::move(name),
          .type = SettingType::kChoice,
          .default_value = std::move(dflt),
          .choices = std::move(choices),
          .doc = std::move(doc)};
}
Setting Setting::list(std::string name, std::vector<std::string> dflt, std::string doc,
                      SettingCheck item_check) {
  return {.name = std::move(name),
          .type = SettingType::kList,
          .default_value = std::move(dflt),
          .doc = std::move(doc),
          .check = item_check};
}

namespace {

std::string number_text(double v) {
  char buf[32];
  // Whole numbers in full ("100000", not the shortest form "1e+05").
  const bool whole = std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 1e15;
  const auto r = whole ? std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed)
                       : std::to_chars(buf, buf + sizeof buf, v);
  return {buf, r.ptr};
}

std::string range_text(const Setting& s) {
  if (s.min && s.max) return fmt::format(" in [{}, {}]", number_text(*s.min), number_text(*s.max));
  if (s.min) return fmt::format(" >= {}", number_text(*s.min));
  if (s.max) return fmt::format(" <= {}", number_text(*s.max));
  return {};
}

std::string value_text(const SettingValue& v) {
  return std::visit(
      [](const auto& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, bool>) {
          return x ? "true" : "false";
        } else if constexpr (std::is_same_v<T, std::int64_t>) {
          return std::to_string(x);
        } else if constexpr (std::is_same_v<T, double>) {
          return number_text(x);
        } else if constexpr (std::is_same_v<T, std::string>) {
          return x;
        } else {
          std::string out;
          for (const auto& item : x) out += (out.empty() ? "" : ",") + item;
          return out;
        }
      },
      v);
}

std::string_view given_kind(const SettingValue& v) {
  switch (v.index()) {
    case 0:
      return "a boolean";
    case 1:
      return "an integer";
    case 2:
      return "a number";
    case 3:
      return "a string";
    default:
      return "an array";
  }
}

using Problem = std::optional<std::string>;

// The given value converted to the setting's type, or why it cannot be.
std::variant<SettingValue, std::string> convert(const Setting& s, const EngineConfig::Given& g) {
  const auto* str = std::get_if<std::string>(&g.value);
  switch (s.type) {
    case SettingType::kBool:
      if (const auto* b = std::get_if<bool>(&g.value)) return SettingValue(*b);
      if (g.text && str && (*str == "true" || *str == "false")) return SettingValue(*str == "true");
      return std::string("must be true or false");
    case SettingType::kInt: {
      if (const auto* i = std::get_if<std::int64_t>(&g.value)) return SettingValue(*i);
      std::int64_t v = 0;
      if (g.text && str) {
        const auto [end, ec] = std::from_chars(str->data(), str->data() + str->size(), v);
        if (ec == std::errc() && end == str->data() + str->size()) return SettingValue(v);
      }
      return std::string("must be an integer");
    }
    case SettingType::kDouble: {
      if (const auto* d = std::get_if<double>(&g.value)) return SettingValue(*d);
      if (const auto* i = std::get_if<std::int64_t>(&g.value)) {
        return SettingValue(static_cast<double>(*i));
      }
      double v = 0;
      if (g.text && str) {
        const auto [end, ec] = std::from_chars(str->data(), str->data() + str->size(), v);
        if (ec == std::errc() && end == str->data() + str->size()) return SettingValue(v);
      }
      return std::string("must be a number");
    }
    case SettingType::kString:
    case SettingType::kChoice:
      if (str) return SettingValue(*str);
      return std::string("must be a string");
    case SettingType::kList:
      if (const auto* l = std::get_if<std::vector<std::string>>(&g.value)) return SettingValue(*l);
      // A comma-separated string is a list too (the command line has no arrays).
      if (str) return SettingValue(core::split_list(*str));
      return std::string("must be an array of strings or a comma-separated string");
  }
  return std::string("has an unknown type");
}

Problem check_value(const Setting& s, const SettingValue& v) {
  if (s.type == SettingType::kInt || s.type == SettingType::kDouble) {
    const double x = s.type == SettingType::kInt ? static_cast<double>(std::get<std::int64_t>(v))
                                                 : std::get<double>(v);
    if (!std::isfinite(x) || (s.min && x < *s.min) || (s.max && x > *s.max)) {
      return fmt::format("must be {}{}, not {}",
                         s.type == SettingType::kInt ? "an integer" : "a number", range_text(s),
                         value_text(v));
    }
  }
  if (s.type == SettingType::kChoice) {
    const auto& c = std::get<std::string>(v);
    if (std::find(s.choices.begin(), s.choices.end(), c) == s.choices.end()) {
      return fmt::format("must be one of {}, not '{}'", fmt::join(s.choices, "|"), c);
    }
  }
  if (s.check != nullptr) {
    if (s.type == SettingType::kString) {
      if (auto p = s.check(std::get<std::string>(v))) return p;
    }
    if (s.type == SettingType::kList) {
      for (const auto& item : std::get<std::vector<std::string>>(v)) {
        if (auto p = s.check(item)) return fmt::format("'{}': {}", item, *p);
      }
    }
  }
  return std::nullopt;
}

}  // namespace

std::string Setting::type_text() const {
  switch (type) {
    case SettingType::kBool:
      return "bool";
    case SettingType::kInt:
      return "integer" + range_text(*this);
    case SettingType::kDouble:
      return "number" + range_text(*this);
    case SettingType::kString:
      return "string";
    case SettingType::kChoice:
      return fmt::format("{}", fmt::join(choices, " / "));
    case SettingType::kList:
      return "list of strings";
  }
  return "?";
}

std::string Setting::default_text() const { return value_text(default_value); }

template <class T>
const T& EngineSettings::get(std::string_view name) const {
  const auto it = values_.find(name);
  if (it == values_.end()) {
    throw std::logic_error(fmt::format("setting '{}' was not declared", name));
  }
  const T* v = std::get_if<T>(&it->second);
  if (v == nullptr) throw std::logic_error(fmt::format("setting '{}' read as another type", name));
  return *v;
}
template const bool& EngineSettings::get<bool>(std::string_view) const;
template const std::int64_t& EngineSettings::get<std::int64_t>(std::string_view) const;
template const double& EngineSettings::get<double>(std::string_view) const;
template const std::string& EngineSettings::get<std::string>(std::string_view) const;
template const std::vector<std::string>& EngineSettings::get<std::vector<std::string>>(
    std::string_view) const;

core::Result<EngineSettings> resolve_settings(std::string_view engine,
                                              std::span<const Setting> declared,
                                              const EngineConfig& given) {
  const auto bad = [&](std::string_view key, std::string why) {
    return core::fail(core::ErrorCode::kInvalidArgument,
                      fmt::format("{}.{}: {}", engine, key, why));
  };
  EngineSettings out;
  for (const auto& [key, g] : given.values()) {
    const auto it = std::find_if(declared.begin(), declared.end(),
                                 [&](const Setting& s) { return s.name == key; });
    if (it == declared.end()) {
      std::vector<std::string_view> names;
      for (const auto& s : declared) names.push_back(s.name);
      return bad(key, names.empty()
                          ? std::string("no such setting (this engine has none)")
                          : fmt::format("no such setting (settings: {})", fmt::join(names, ", ")));
    }
    auto v = convert(*it, g);
    if (auto* why = std::get_if<std::string>(&v)) {
      return bad(key, g.text ? fmt::format("{}, not '{}'", *why, value_text(g.value))
                             : fmt::format("{}, not {}", *why, given_kind(g.value)));
    }
    auto& value = std::get<SettingValue>(v);
    if (auto p = check_value(*it, value)) return bad(key, *p);
    out.values_[key] = std::move(value);
  }
  for (const auto& s : declared) {
    if (!out.values_.contains(s.name)) out.values_[s.name] = s.default_value;
  }
  return out;
}

std::optional<std::string> check_symbol(std::string_view value) {
  if (auto s = core::Symbol::create(value); !s) return s.error().message;
  return std::nullopt;
}

std::string settings_markdown(std::span<const Setting> declared) {
  std::string out = "| setting | type | default | meaning |\n|---|---|---|---|\n";
  for (const auto& s : declared) {
    const std::string dflt = s.default_text();
    out += fmt::format("| `{}` | {} | {} | {} |\n", s.name, s.type_text(),
                       dflt.empty() ? "(none)" : "`" + dflt + "`", s.doc);
  }
  return out;
}

}  // namespace nautilus::engine
