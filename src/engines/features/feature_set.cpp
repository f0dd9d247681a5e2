#include "nautilus/engines/features/feature_set.hpp"

#include <fmt/format.h>

namespace nautilus::features {
namespace {

core::Result<void> check_period(const char* name, int value, int min) {
  if (value < min || value > 100000) {
    return core::fail(core::ErrorCode::kOutOfRange,
                      fmt::format("{} period {} is outside [{}, 100000]", name, value, min));
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
  const Check checks[] = {{"sma", sma, 2},
                          {"ema", ema, 2},
                          {"rsi", rsi, 2},
                          {"macd_fast", macd_fast, 2},
                          {"macd_slow", macd_slow, 2},
                          {"macd_signal", macd_signal, 1},
                          {"bb", bb, 2},
                          {"atr", atr, 1},
                          {"rv", rv, 2}};
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

}  // namespace nautilus::features
