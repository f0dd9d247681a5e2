#include "nautilus/engines/factor/styles.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "nautilus/factor_core/styles.hpp"  // numpy's percentile and ddof-1 standardizing

namespace nautilus::factor {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double simple_return(std::span<const double> close, std::size_t k) {
  return close[k] / close[k - 1] - 1;
}

}  // namespace

Styles raw_styles(std::span<const double> close, std::span<const double> volume,
                  std::span<const double> shares, double book, const StyleConfig& c) {
  Styles out;
  out.fill(kNaN);
  const std::size_t n = close.size();
  if (n == 0 || volume.size() != n || shares.size() != n) return out;
  const std::size_t t = n - 1;

  const auto momentum_window = static_cast<std::size_t>(c.momentum_window);
  const auto skip = static_cast<std::size_t>(c.momentum_skip);
  if (t >= momentum_window && momentum_window > skip) {
    double p = 1;
    for (std::size_t k = t + 1 - momentum_window; k <= t - skip; ++k)
      p *= 1 + simple_return(close, k);
    out[0] = p - 1;
  }

  const double cap = shares[t] * close[t];
  if (cap > 0 && std::isfinite(cap)) {
    if (std::isfinite(book)) out[1] = book / cap;
    out[2] = std::log(cap);
  }

  const auto vw = static_cast<std::size_t>(c.volatility_window);
  if (vw >= 2 && t >= vw) {
    double mean = 0;
    for (std::size_t k = t + 1 - vw; k <= t; ++k) mean += simple_return(close, k);
    mean /= static_cast<double>(vw);
    double ss = 0;
    for (std::size_t k = t + 1 - vw; k <= t; ++k) {
      const double d = simple_return(close, k) - mean;
      ss += d * d;
    }
    out[3] = std::sqrt(ss / static_cast<double>(vw - 1)) * std::sqrt(252.0);
  }

  const auto lw = static_cast<std::size_t>(c.liquidity_window);
  if (lw >= 1 && t + 1 >= lw) {
    double turnover = 0;
    bool known = true;
    for (std::size_t k = t + 1 - lw; k <= t; ++k) {
      if (!(shares[k] > 0)) {
        known = false;
        break;
      }
      turnover += volume[k] / shares[k];
    }
    if (known && turnover > 0) out[4] = std::log(turnover);
  }
  for (double& v : out) {
    if (!std::isfinite(v)) v = kNaN;  // a zero or negative close makes returns meaningless
  }
  return out;
}

CrossSection standardize(std::span<const Styles> raw, double winsor) {
  CrossSection out;
  out.exposures.assign(raw.size(), Styles{});
  for (auto& e : out.exposures) e.fill(kNaN);
  std::vector<double> values;
  std::vector<std::size_t> members;
  for (std::size_t j = 0; j < kStyles; ++j) {
    values.clear();
    members.clear();
    for (std::size_t i = 0; i < raw.size(); ++i) {
      if (std::isfinite(raw[i][j])) {
        values.push_back(raw[i][j]);
        members.push_back(i);
      }
    }
    StyleSummary& s = out.summary[j];
    s.count = values.size();
    if (values.empty()) continue;
    double mean = 0;
    for (const double v : values) mean += v;
    mean /= static_cast<double>(values.size());
    double ss = 0;
    for (const double v : values) ss += (v - mean) * (v - mean);
    s.mean = mean;
    s.sd = values.size() > 1 ? std::sqrt(ss / static_cast<double>(values.size() - 1)) : 0;
    std::vector<double> scratch = values;
    s.clip_low = factor_core::percentile_linear(scratch, winsor);
    s.clip_high = factor_core::percentile_linear(scratch, 1 - winsor);
    for (double& v : values) v = std::clamp(v, s.clip_low, s.clip_high);
    const auto z = factor_core::standardize(values);
    for (std::size_t k = 0; k < members.size(); ++k) out.exposures[members[k]][j] = z[k];
  }
  return out;
}

}  // namespace nautilus::factor
