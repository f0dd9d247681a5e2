#include "nautilus/factor_core/styles.hpp"

#include <algorithm>
#include <array>
#include <cmath>

namespace nautilus::factor_core {

std::vector<double> standardize(std::span<const double> v) {
  if (v.size() < 2) return std::vector<double>(v.size(), 0.0);
  double m = 0;
  for (const double x : v) m += x;
  m /= static_cast<double>(v.size());
  double ss = 0;
  for (const double x : v) ss += (x - m) * (x - m);
  const double sd = std::sqrt(ss / static_cast<double>(v.size() - 1));
  std::vector<double> out(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) out[i] = sd > 0 ? (v[i] - m) / sd : 0.0;
  return out;
}

double percentile_linear(std::span<double> v, double q) {
  const double n = static_cast<double>(v.size());
  const double h = (n - 1) * q;  // numpy's virtual index for alpha = beta = 1
  const double lo_index = std::floor(h);
  const auto lo = static_cast<std::size_t>(std::clamp(lo_index, 0.0, n - 1));
  // Selection, not a sort: the lo-th smallest, then the smallest of what lies above it.
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(lo), v.end());
  const double a = v[lo];
  const double b = lo + 1 < v.size()
                       ? *std::min_element(v.begin() + static_cast<std::ptrdiff_t>(lo) + 1, v.end())
                       : a;
  const double t = h - lo_index;
  const double diff = b - a;
  // numpy's _lerp, which interpolates from the nearer end.
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

void winsorize(std::span<double> v, double q) {
  if (v.empty()) return;
  std::vector<double> scratch(v.begin(), v.end());
  const double lo = percentile_linear(scratch, q);
  const double hi = percentile_linear(scratch, 1 - q);
  for (double& x : v) x = std::clamp(x, lo, hi);
}

std::vector<double> size_scores(std::span<const double> market_caps) {
  std::vector<double> score(market_caps.size());
  for (std::size_t i = 0; i < score.size(); ++i) score[i] = -std::log(market_caps[i]);
  score = standardize(score);
  if (score.empty()) return score;
  std::vector<double> sorted = score;
  std::sort(sorted.begin(), sorted.end());
  const double last = static_cast<double>(sorted.size() - 1);
  const double lower = sorted[static_cast<std::size_t>(std::round(last * 0.2))];
  const double upper = sorted[static_cast<std::size_t>(std::round(last * 0.8))];
  for (double& s : score) {
    if (!(s <= lower || s >= upper)) s = 0.0;
  }
  return score;
}

std::vector<double> value_scores(std::span<const double> book_price,
                                 std::span<const double> sales_price,
                                 std::span<const double> cf_price) {
  const std::size_t n = book_price.size();
  std::vector<double> lb(n);
  std::vector<double> ls(n);
  for (std::size_t i = 0; i < n; ++i) {
    lb[i] = std::log(book_price[i]);
    ls[i] = std::log(sales_price[i]);
  }
  const auto zb = standardize(lb);
  const auto zs = standardize(ls);
  const auto zc = standardize(cf_price.first(n));
  std::vector<double> mean(n);
  for (std::size_t i = 0; i < n; ++i) mean[i] = (zb[i] + zs[i] + zc[i]) / 3.0;
  return standardize(mean);
}

double momentum_raw(std::span<const double> lagged_returns) {
  static const std::array<double, kMomentumWindow> kWeights = [] {
    std::array<double, kMomentumWindow> w{};
    const double decay = std::log(2.0) / kMomentumHalfLife;
    for (int k = 0; k < kMomentumWindow; ++k) {
      w[static_cast<std::size_t>(kMomentumWindow - 1 - k)] = std::exp(-decay * k);
    }
    return w;
  }();
  const std::size_t n = std::min(lagged_returns.size(), kWeights.size());
  const std::size_t w0 = kWeights.size() - n;
  double p = 1.0;
  for (std::size_t j = 0; j < n; ++j) p *= 1.0 + lagged_returns[j] * kWeights[w0 + j];
  return p - 1.0;
}

std::vector<double> momentum_scores(std::span<const double> raw) {
  std::vector<double> clipped(raw.begin(), raw.end());
  winsorize(clipped, kMomentumWinsor);
  return standardize(clipped);
}

}  // namespace nautilus::factor_core
