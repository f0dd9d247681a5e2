#include "nautilus/engines/features/feature_set.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cmath>

namespace nautilus::features {
namespace {

core::Result<void> check_period(const char* name, int value, int min) {
  if (value < min || value > 100000) {
    return core::fail(core::ErrorCode::kOutOfRange,
                      fmt::format("{} = {} is outside [{}, 100000]", name, value, min));
  }
  return {};
}

}  // namespace

core::Result<void> FeaturePeriods::validate() const {
  struct Check {
    const char* name;
    int value;
    int min;
  };
  // Named as the engine's settings are, so that a message points at what to change.
  const Check checks[] = {
      {"sma_period", sma, 2},      {"ema_period", ema, 2},      {"rsi_period", rsi, 2},
      {"macd_fast", macd_fast, 2}, {"macd_slow", macd_slow, 2}, {"macd_signal", macd_signal, 1},
      {"bb_period", bb, 2},        {"atr_period", atr, 1},      {"rv_window", rv, 2}};
  for (const auto& c : checks) {
    if (auto ok = check_period(c.name, c.value, c.min); !ok) return ok;
  }
  if (!(bb_k > 0) || !(rv_annualization > 0)) {
    return core::fail(core::ErrorCode::kOutOfRange, "bb_k and rv_annualization must be > 0");
  }
  return {};
}

std::array<std::string, kFeatureCount> feature_names(const FeaturePeriods& p) {
  return {fmt::format("sma{}", p.sma),
          fmt::format("ema{}", p.ema),
          fmt::format("rsi{}", p.rsi),
          "macd",
          "macd_signal",
          "macd_hist",
          "bb_mid",
          "bb_up",
          "bb_dn",
          fmt::format("atr{}", p.atr),
          "obv",
          "vwap",
          "log_return",
          "realized_vol"};
}

core::Result<void> set_period(FeaturePeriods& p, std::string_view name, double value) {
  if (name == "bb_k") {
    p.bb_k = value;
    return {};
  }
  if (name == "rv_annualization") {
    p.rv_annualization = value;
    return {};
  }
  struct Field {
    std::string_view name;
    int FeaturePeriods::* field;
  };
  static constexpr Field kFields[] = {
      {"sma_period", &FeaturePeriods::sma},      {"ema_period", &FeaturePeriods::ema},
      {"rsi_period", &FeaturePeriods::rsi},      {"macd_fast", &FeaturePeriods::macd_fast},
      {"macd_slow", &FeaturePeriods::macd_slow}, {"macd_signal", &FeaturePeriods::macd_signal},
      {"bb_period", &FeaturePeriods::bb},        {"atr_period", &FeaturePeriods::atr},
      {"rv_window", &FeaturePeriods::rv}};
  for (const auto& f : kFields) {
    if (f.name != name) continue;
    if (value != std::floor(value) || value < 0 || value > 100000) {
      return core::fail(
          core::ErrorCode::kOutOfRange,
          fmt::format("{} must be a whole number in [0, 100000], not {}", name, value));
    }
    p.*f.field = static_cast<int>(value);
    return {};
  }
  return core::fail(core::ErrorCode::kInvalidArgument, fmt::format("unknown period '{}'", name));
}

core::Result<PeriodOverride> parse_period_override(std::string_view text) {
  // Symbols may contain '.' and '=' (BRK.B, ES=F); period names and values contain no '=', and
  // period names no '.': so the last '=' ends the name, and the last '.' before it starts it.
  const auto eq = text.rfind('=');
  const auto dot = eq == std::string_view::npos ? eq : text.rfind('.', eq);
  if (dot == std::string_view::npos || eq == std::string_view::npos || dot == 0) {
    return core::fail(
        core::ErrorCode::kParse,
        fmt::format("'{}' is not SYMBOL.period=value (e.g. AAPL.rsi_period=9)", text));
  }
  PeriodOverride o{std::string(text.substr(0, dot)),
                   std::string(text.substr(dot + 1, eq - dot - 1)), 0};
  const std::string_view v = text.substr(eq + 1);
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), o.value);
  if (ec != std::errc{} || end != v.data() + v.size() || v.empty()) {
    return core::fail(core::ErrorCode::kParse, fmt::format("'{}': '{}' is not a number", text, v));
  }
  FeaturePeriods probe;
  if (auto ok = set_period(probe, o.name, o.value); !ok) {
    return core::fail(ok.error().code, fmt::format("'{}': {}", text, ok.error().message));
  }
  return o;
}

}  // namespace nautilus::features
