// The independent reference of the toraniko tests: one date's constrained regression solved as
// a dense KKT system with Eigen's full-pivoting LU, written from the problem's statement, not
// from model.cpp's change of variables or per-sector sums:
//
//   minimize   sum_i w_i (r_i - market - sector_{s(i)})^2,  w_i = sqrt(cap_i)
//   subject to sum of the present sectors' returns = 0, an absent sector's return = 0
//
//   [ X'WX  C' ] [beta]   [X'Wr]
//   [ C     0  ] [lam ] = [ 0  ]      X = [1, sector dummies]
//
// then the styles by the dense normal equations S'WS h = S'W e on the sector residuals e, and
// residual = e - S h. Returns are winsorized first, when asked, with numpy's linear percentile
// computed here by sorting.
#pragma once

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <vector>

namespace nautilus::toraniko::testing {

struct KktFit {
  std::vector<double> factor_returns;  // market, sectors, styles
  std::vector<double> residuals;
};

inline double numpy_percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const double h = (static_cast<double>(v.size()) - 1) * q;
  const auto lo = static_cast<std::size_t>(std::floor(h));
  const auto hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (h - std::floor(h)) * (v[hi] - v[lo]);
}

inline KktFit kkt_fit(std::vector<double> r, const std::vector<double>& caps,
                      const std::vector<std::uint16_t>& sectors, std::size_t m,
                      const std::vector<double>& styles, std::size_t k,
                      std::optional<double> winsor, bool residualize) {
  const auto n = static_cast<Eigen::Index>(r.size());
  if (winsor) {
    const double lo = numpy_percentile(r, *winsor);
    const double hi = numpy_percentile(r, 1 - *winsor);
    for (double& v : r) v = std::clamp(v, lo, hi);
  }
  const Eigen::Map<const Eigen::VectorXd> y(r.data(), n);
  Eigen::VectorXd w(n);
  for (Eigen::Index i = 0; i < n; ++i) w(i) = std::sqrt(caps[static_cast<std::size_t>(i)]);
  const auto p = static_cast<Eigen::Index>(1 + m);
  Eigen::MatrixXd x = Eigen::MatrixXd::Zero(n, p);
  std::vector<bool> present(m, false);
  for (Eigen::Index i = 0; i < n; ++i) {
    x(i, 0) = 1;
    x(i, 1 + sectors[static_cast<std::size_t>(i)]) = 1;
    present[sectors[static_cast<std::size_t>(i)]] = true;
  }
  // Constraints: one sum-to-zero row, and one row per absent sector pinning it to 0.
  std::vector<Eigen::VectorXd> rows;
  Eigen::VectorXd sum = Eigen::VectorXd::Zero(p);
  for (std::size_t j = 0; j < m; ++j) {
    if (present[j]) sum(static_cast<Eigen::Index>(1 + j)) = 1;
  }
  rows.push_back(sum);
  for (std::size_t j = 0; j < m; ++j) {
    if (present[j]) continue;
    Eigen::VectorXd pin = Eigen::VectorXd::Zero(p);
    pin(static_cast<Eigen::Index>(1 + j)) = 1;
    rows.push_back(pin);
  }
  const auto c = static_cast<Eigen::Index>(rows.size());
  Eigen::MatrixXd kkt = Eigen::MatrixXd::Zero(p + c, p + c);
  kkt.topLeftCorner(p, p) = x.transpose() * w.asDiagonal() * x;
  for (Eigen::Index q = 0; q < c; ++q) {
    kkt.block(p + q, 0, 1, p) = rows[static_cast<std::size_t>(q)].transpose();
    kkt.block(0, p + q, p, 1) = rows[static_cast<std::size_t>(q)];
  }
  Eigen::VectorXd rhs = Eigen::VectorXd::Zero(p + c);
  rhs.head(p) = x.transpose() * w.asDiagonal() * y;
  const Eigen::VectorXd beta = kkt.fullPivLu().solve(rhs).head(p);
  const Eigen::VectorXd e = y - x * beta;

  KktFit out;
  out.factor_returns.assign(beta.data(), beta.data() + p);
  Eigen::VectorXd resid = e;
  if (k > 0) {
    Eigen::MatrixXd s(n, static_cast<Eigen::Index>(k));
    for (Eigen::Index i = 0; i < n; ++i) {
      for (Eigen::Index j = 0; j < static_cast<Eigen::Index>(k); ++j) {
        s(i, j) = styles[static_cast<std::size_t>(i) * k + static_cast<std::size_t>(j)];
      }
    }
    const Eigen::MatrixXd sws = s.transpose() * w.asDiagonal() * s;
    const Eigen::VectorXd target = residualize ? e : Eigen::VectorXd(y);
    const Eigen::VectorXd h = sws.fullPivLu().solve(s.transpose() * w.asDiagonal() * target);
    for (Eigen::Index j = 0; j < h.size(); ++j) out.factor_returns.push_back(h(j));
    resid = e - s * h;
  }
  out.residuals.assign(resid.data(), resid.data() + n);
  return out;
}

}  // namespace nautilus::toraniko::testing
