// Every indicator of one symbol, fed one bar at a time: the features engine keeps one
// FeatureSet per symbol, and `nautilus compute features`, the benchmarks and the TA-Lib
// comparison tests drive the same class. An update is O(1) and allocates nothing (the windows
// are sized when the set is made).
//
//   FeatureSet set(FeaturePeriods{});          // TA-Lib's usual periods: SMA 20, RSI 14, ...
//   set.update({.open = o, .high = h, .low = l, .close = c, .volume = v, .session = day});
//   for (std::size_t i = 0; i < kFeatureCount; ++i) use(set.names()[i], set.values()[i]);
//
// values()[i] is NaN while feature i warms up (before its TA-Lib lookback) and never a
// made-up number.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "nautilus/core/error.hpp"
#include "nautilus/engines/features/atr.hpp"
#include "nautilus/engines/features/bollinger.hpp"
#include "nautilus/engines/features/ema.hpp"
#include "nautilus/engines/features/macd.hpp"
#include "nautilus/engines/features/obv.hpp"
#include "nautilus/engines/features/returns.hpp"
#include "nautilus/engines/features/rsi.hpp"
#include "nautilus/engines/features/sma.hpp"
#include "nautilus/engines/features/vwap.hpp"

namespace nautilus::features {

struct FeaturePeriods {
  int sma = 20;
  int ema = 20;
  int rsi = 14;
  int macd_fast = 12;
  int macd_slow = 26;
  int macd_signal = 9;
  int bb = 20;
  double bb_k = 2.0;  // band width in population standard deviations
  int atr = 14;
  int rv = 20;  // log returns in the realized-volatility window
  // Periods per year for realized volatility: 252 sessions of 390 one-minute bars.
  double rv_annualization = 252.0 * 390.0;

  // Every period ≥ 2 (≥ 1 for the signal line) and at most 100000, as TA-Lib's ranges.
  [[nodiscard]] core::Result<void> validate() const;
  friend bool operator==(const FeaturePeriods&, const FeaturePeriods&) = default;
};

// The order of values(): the columns of `nautilus compute features`.
enum class Feature : std::uint8_t {
  kSma,
  kEma,
  kRsi,
  kMacd,
  kMacdSignal,
  kMacdHist,
  kBbMid,
  kBbUp,
  kBbDn,
  kAtr,
  kObv,
  kVwap,
  kLogReturn,
  kRealizedVol,
};
inline constexpr std::size_t kFeatureCount = 14;

// Names carry the periods that differ by configuration: "sma20", "rsi14", "atr14", ...
[[nodiscard]] std::array<std::string, kFeatureCount> feature_names(const FeaturePeriods& p);

struct BarInput {
  double open = 0;
  double high = 0;
  double low = 0;
  double close = 0;
  double volume = 0;
  std::int64_t session = 0;  // VWAP restarts when this changes (the bar's UTC date)
};

// The session number of a bar: the UTC date on which it opened (days since 1970-01-01).
[[nodiscard]] inline std::int64_t utc_session(std::int64_t close_ns, std::uint32_t interval_s) {
  constexpr std::int64_t kDay = 86'400'000'000'000;
  const std::int64_t open_ns = close_ns - static_cast<std::int64_t>(interval_s) * 1'000'000'000;
  return open_ns >= 0 ? open_ns / kDay : -((-open_ns + kDay - 1) / kDay);
}

class FeatureSet {
 public:
  explicit FeatureSet(const FeaturePeriods& p)
      : periods_(p),
        sma_(p.sma),
        ema_(p.ema),
        rsi_(p.rsi),
        macd_(p.macd_fast, p.macd_slow, p.macd_signal),
        bb_(p.bb, p.bb_k),
        atr_(p.atr),
        rv_(p.rv, p.rv_annualization) {}

  void update(const BarInput& b) noexcept {
    sma_.update(b.close);
    ema_.update(b.close);
    rsi_.update(b.close);
    macd_.update(b.close);
    bb_.update(b.close);
    atr_.update(b.high, b.low, b.close);
    obv_.update(b.close, b.volume);
    vwap_.update(b.high, b.low, b.close, b.volume, b.session);
    ret_.update(b.close);
    if (ret_.initialized()) rv_.update(ret_.value());
    ++bars_;
  }

  // The latest value of every feature, in Feature order; NaN while warming up.
  [[nodiscard]] std::array<double, kFeatureCount> values() const noexcept {
    return {sma_.value(),      ema_.value(),  rsi_.value(), macd_.macd(), macd_.signal(),
            macd_.histogram(), bb_.middle(),  bb_.upper(),  bb_.lower(),  atr_.value(),
            obv_.value(),      vwap_.value(), ret_.value(), rv_.value()};
  }
  [[nodiscard]] const FeaturePeriods& periods() const noexcept { return periods_; }
  [[nodiscard]] std::uint64_t bars() const noexcept { return bars_; }
  void reset() noexcept {
    sma_.reset();
    ema_.reset();
    rsi_.reset();
    macd_.reset();
    bb_.reset();
    atr_.reset();
    obv_.reset();
    vwap_.reset();
    ret_.reset();
    rv_.reset();
    bars_ = 0;
  }

 private:
  FeaturePeriods periods_;
  Sma sma_;
  Ema ema_;
  Rsi rsi_;
  Macd macd_;
  Bollinger bb_;
  Atr atr_;
  Obv obv_;
  Vwap vwap_;
  LogReturn ret_;
  RealizedVol rv_;
  std::uint64_t bars_ = 0;
};

}  // namespace nautilus::features

namespace nautilus::features {

// Sets one period by its setting name (sma_period, ema_period, rsi_period, macd_fast,
// macd_slow, macd_signal, bb_period, bb_k, atr_period, rv_window, rv_annualization); an
// unknown name or a non-integral period is an error naming it. validate() checks ranges.
[[nodiscard]] core::Result<void> set_period(FeaturePeriods& p, std::string_view name, double value);
// A per-symbol override "AAPL.rsi_period=9": the symbol, and the periods with it applied.
struct PeriodOverride {
  std::string symbol;
  std::string name;
  double value = 0;
};
[[nodiscard]] core::Result<PeriodOverride> parse_period_override(std::string_view text);

}  // namespace nautilus::features
