// The factor engine's style exposures: five classic cross-sectional styles per symbol and date,
// each winsorized and standardized across the universe that date (no bus here).
//
//   momentum    prod(1 + r) over the 12 months ending a month ago (returns t-251 .. t-21) - 1
//   value       book value / market cap (book-to-price), with the filing known at the close
//   size        log(market cap), market cap = shares outstanding x close
//   volatility  standard deviation (ddof 1) of the last 63 daily returns x sqrt(252)
//   liquidity   log(sum over the last 21 days of volume / shares outstanding): monthly turnover
//
// A raw value is undefined (NaN) while its window is not full or no filing is known yet. Per
// date and style, over the symbols where it is defined: clipped to the `winsor` and
// 1 - `winsor` percentiles (numpy's linear method) and standardized, (x - mean) / sd with
// ddof 1. tests/reference/factor_check.py recomputes every value with numpy.
//
//   factor::StyleConfig cfg;
//   auto raw = factor::raw_styles(closes, volumes, shares_by_bar, book, cfg);  // one symbol
//   auto z = factor::standardize(raw_of_every_symbol, cfg.winsor);             // one date
#pragma once

#include <array>
#include <cstddef>
#include <span>
#include <string_view>
#include <vector>

namespace nautilus::factor {

inline constexpr std::size_t kStyles = 5;
inline constexpr std::array<std::string_view, kStyles> kStyleNames = {"momentum", "value", "size",
                                                                      "volatility", "liquidity"};
using Styles = std::array<double, kStyles>;

struct StyleConfig {
  int momentum_window = 252;  // returns from t - 251 ...
  int momentum_skip = 21;     // ... to t - 21
  int volatility_window = 63;
  int liquidity_window = 21;
  double winsor = 0.01;
};

// One symbol's raw styles as of its last bar. `close` and `volume` are its bars up to and
// including that one, oldest first; `shares[k]` the shares outstanding known at bar k (NaN when
// no filing was known); `book` the book value known at the last bar (NaN: none).
[[nodiscard]] Styles raw_styles(std::span<const double> close, std::span<const double> volume,
                                std::span<const double> shares, double book,
                                const StyleConfig& config);

// What standardizing one style over one date saw.
struct StyleSummary {
  std::size_t count = 0;  // symbols where it was defined
  double mean = 0;        // of the raw values
  double sd = 0;          // (ddof 1)
  double clip_low = 0;    // the winsorizing bounds
  double clip_high = 0;
};

struct CrossSection {
  std::vector<Styles> exposures;  // per symbol, in the order given; NaN where undefined
  std::array<StyleSummary, kStyles> summary;
};

[[nodiscard]] CrossSection standardize(std::span<const Styles> raw, double winsor);

}  // namespace nautilus::factor
