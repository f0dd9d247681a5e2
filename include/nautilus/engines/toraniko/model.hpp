// One date of the toraniko factor model (toraniko 1.1.0, model.py `_factor_returns` and the
// per-date body of `estimate_factor_returns`): factor returns and residual returns from the
// assets' returns, market caps, sectors and style exposures.
//
//   1. the returns are winsorized at `winsor` and 1 - winsor (numpy's linear percentiles);
//   2. weighted least squares, weights sqrt(market cap), of the returns on a market factor and
//      the sectors, with the sector returns constrained to sum to zero: toraniko's change of
//      variables, the last sector being minus the sum of the others;
//   3. the styles fitted (WLS, same weights) on that regression's residuals
//      (`residualize_styles`, as toraniko's default) or on the returns;
//   4. residual = sector residual - styles x style returns.
//
// Both systems are solved as numpy's lstsq solves them: the minimum-norm solution, so a style
// that is zero on every asset gets a return of 0 rather than a failure. One deliberate change
// from toraniko: a sector with no assets on the date is left out of the regression (return
// 0, the others still summing to zero), where toraniko would keep its empty column in a
// rank-deficient system.
//
//   toraniko::Estimator est;
//   toraniko::DateFit fit;
//   est.fit({.returns = r, .market_caps = caps, .sectors = sector_index, .sector_count = 11,
//            .styles = x, .style_count = 3}, {}, fit);
//   // fit.factor_returns: market, the 11 sectors, the 3 styles; fit.residuals[i] per asset
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "nautilus/core/error.hpp"

namespace nautilus::toraniko {

struct ModelOptions {
  std::optional<double> winsor = 0.05;  // nullopt: returns as given
  bool residualize_styles = true;
};

// One date's inputs, n assets. Spans are read during fit() only.
struct CrossSection {
  std::span<const double> returns;         // n
  std::span<const double> market_caps;     // n, each > 0
  std::span<const std::uint16_t> sectors;  // n, each < sector_count
  std::size_t sector_count = 0;            // at least 1
  std::span<const double> styles;          // n x style_count, asset-major (x[i * k + j])
  std::size_t style_count = 0;
  // The caller has already refused what fit() checks (FactorModel does, row by row): the
  // values are not checked again.
  bool checked = false;
};

struct DateFit {
  // 1 + sector_count + style_count: market, the sectors in index order, the styles.
  std::vector<double> factor_returns;
  std::vector<double> residuals;  // n, in the assets' order
  // Weighted R² of the fit of the (winsorized) returns: 1 - sum w e² / sum w (r - mean_w r)².
  double r_squared = 0;
};

// Holds the scratch space of one date's fit, so estimating thousands of dates allocates once.
// Not thread-safe: one per thread.
class Estimator {
 public:
  Estimator();
  ~Estimator();
  Estimator(Estimator&&) noexcept;
  Estimator& operator=(Estimator&&) noexcept;

  // kInvalidArgument when the spans' sizes disagree, a sector index is out of range, a market
  // cap is not positive or a value is not finite.
  [[nodiscard]] core::Result<void> fit(const CrossSection& x, const ModelOptions& options,
                                       DateFit& out);

 private:
  struct Scratch;
  std::unique_ptr<Scratch> s_;
};

}  // namespace nautilus::toraniko
