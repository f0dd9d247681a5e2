// Cross-sectional statistics as numpy and polars compute them (percentiles, winsorizing,
// standardizing), and toraniko 1.1.0's style scores (github.com/0xfdf/toraniko,
// toraniko/styles.py and math.py) over one date's cross-section: one value per symbol, in the
// order given. A component below the engines that need them: the toraniko engine computes its
// exposures with these, the factor engine standardizes with them, and the research universe's
// generator (marketdata/universe.hpp) draws its returns on them, so they agree by construction;
// tests/reference/ checks them against numpy.
//
//   auto sze = factor_core::size_scores(caps);               // -log cap, standardized, 20/80 cut
//   auto val = factor_core::value_scores(bp, sp, cfp);
//   raw[i] = factor_core::momentum_raw(last_504_lagged_returns_of_i);
//   auto mom = factor_core::momentum_scores(raw);            // winsorized 1 %, standardized
//
// Standardizing is (v - mean) / sd with sd of ddof 1, as polars' std() computes it; a
// cross-section whose sd is 0 (or of fewer than two values) standardizes to zeros.
#pragma once

#include <span>
#include <vector>

namespace nautilus::factor_core {

// factor_mom's defaults: a 504-day window, half-life 126 days, returns lagged 20 days.
inline constexpr int kMomentumWindow = 504;
inline constexpr int kMomentumHalfLife = 126;
inline constexpr int kMomentumLag = 20;
// Rows of a symbol's own history before its first momentum score: 524.
inline constexpr int kMomentumHistory = kMomentumWindow + kMomentumLag;
inline constexpr double kMomentumWinsor = 0.01;

// (v - mean) / sd (ddof 1).
[[nodiscard]] std::vector<double> standardize(std::span<const double> v);

// numpy's percentile with its default ("linear") method, q in [0, 1]; v not empty. Reorders v.
[[nodiscard]] double percentile_linear(std::span<double> v, double q);

// math.winsorize: v clipped, in place, to its q and 1 - q percentiles (numpy's "linear").
void winsorize(std::span<double> v, double q);

// Size: -log(market cap), standardized, then the scores strictly between the 20th and 80th
// percentile set to 0 (factor_sze: percentiles by polars' "nearest", the sorted value at index
// round((n-1)q)).
[[nodiscard]] std::vector<double> size_scores(std::span<const double> market_caps);

// Value: log(book/price), log(sales/price) and cf/price, each standardized, their mean,
// standardized again (factor_val without winsorizing its inputs).
[[nodiscard]] std::vector<double> value_scores(std::span<const double> book_price,
                                               std::span<const double> sales_price,
                                               std::span<const double> cf_price);

// One symbol's raw momentum from its last kMomentumWindow lagged returns, oldest first:
// prod(1 + r_j w_j) - 1 with w = 2^(-age/126), the newest weighing 1. A shorter span takes the
// newest weights.
[[nodiscard]] double momentum_raw(std::span<const double> lagged_returns);

// The cross-section of raw momentum winsorized at the 1st and 99th percentiles and
// standardized (factor_mom).
[[nodiscard]] std::vector<double> momentum_scores(std::span<const double> raw);

}  // namespace nautilus::factor_core
