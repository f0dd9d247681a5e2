// The per-date fit. toraniko builds B = [1, sector dummies] R and solves lstsq(B'WB, B'W) r with
// dense n x n weights; every row of B in a sector is the same vector b_s, so
// B'WB = sum_s W_s b_s b_s' and B'Wr = sum_s (sum_{i in s} w_i r_i) b_s: the sector system is
// built from per-sector sums in O(n), and only the small systems (sectors, styles) are solved.
#include "nautilus/engines/toraniko/model.hpp"

#include <fmt/format.h>

#include <Eigen/Dense>
#include <cmath>

#include "nautilus/engines/toraniko/styles.hpp"

namespace nautilus::toraniko {

struct Estimator::Scratch {
  std::vector<double> r;         // the winsorized returns
  std::vector<double> w;         // sqrt(market cap)
  std::vector<double> select;    // for the percentiles
  std::vector<double> sector_w;  // per sector: sum of w, sum of w r
  std::vector<double> sector_wr;
  std::vector<int> position;  // per sector: its place among the present sectors, or -1
  std::vector<double> sector_return;
  Eigen::MatrixXd a;
  Eigen::VectorXd c;
  Eigen::CompleteOrthogonalDecomposition<Eigen::MatrixXd> cod;
};

Estimator::Estimator() : s_(std::make_unique<Scratch>()) {}
Estimator::~Estimator() = default;
Estimator::Estimator(Estimator&&) noexcept = default;
Estimator& Estimator::operator=(Estimator&&) noexcept = default;

namespace {

core::Result<void> check(const CrossSection& x) {
  const std::size_t n = x.returns.size();
  if (x.market_caps.size() != n || x.sectors.size() != n || x.styles.size() != n * x.style_count) {
    return core::fail(
        core::ErrorCode::kInvalidArgument,
        fmt::format("toraniko: {} returns, {} market caps, {} sectors, {} style "
                    "values for {} styles",
                    n, x.market_caps.size(), x.sectors.size(), x.styles.size(), x.style_count));
  }
  if (x.sector_count == 0) {
    return core::fail(core::ErrorCode::kInvalidArgument, "toraniko: no sectors");
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (!std::isfinite(x.returns[i])) {
      return core::fail(
          core::ErrorCode::kInvalidArgument,
          fmt::format("toraniko: asset {}: return {} is not finite", i, x.returns[i]));
    }
    if (!(x.market_caps[i] > 0) || !std::isfinite(x.market_caps[i])) {
      return core::fail(
          core::ErrorCode::kInvalidArgument,
          fmt::format("toraniko: asset {}: market cap {} is not positive", i, x.market_caps[i]));
    }
    if (x.sectors[i] >= x.sector_count) {
      return core::fail(
          core::ErrorCode::kInvalidArgument,
          fmt::format("toraniko: asset {}: sector {} of {}", i, x.sectors[i], x.sector_count));
    }
  }
  for (const double v : x.styles) {
    if (!std::isfinite(v)) {
      return core::fail(core::ErrorCode::kInvalidArgument,
                        "toraniko: a style exposure is not finite");
    }
  }
  return {};
}

}  // namespace

core::Result<void> Estimator::fit(const CrossSection& x, const ModelOptions& options,
                                  DateFit& out) {
  if (auto ok = check(x); !ok) return ok;
  Scratch& s = *s_;
  const std::size_t n = x.returns.size();
  const std::size_t m = x.sector_count;
  const std::size_t k = x.style_count;

  s.r.assign(x.returns.begin(), x.returns.end());
  if (options.winsor && n > 0) {
    s.select.assign(s.r.begin(), s.r.end());
    const double lo = percentile_linear(s.select, *options.winsor);
    const double hi = percentile_linear(s.select, 1 - *options.winsor);
    for (double& v : s.r) v = std::clamp(v, lo, hi);
  }
  s.w.resize(n);
  for (std::size_t i = 0; i < n; ++i) s.w[i] = std::sqrt(x.market_caps[i]);

  // Market and sectors: per-sector sums, then the change of variables over the present sectors
  // (the last of them is minus the sum of the others).
  s.sector_w.assign(m, 0.0);
  s.sector_wr.assign(m, 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    s.sector_w[x.sectors[i]] += s.w[i];
    s.sector_wr[x.sectors[i]] += s.w[i] * s.r[i];
  }
  s.position.assign(m, -1);
  int present = 0;
  for (std::size_t j = 0; j < m; ++j) {
    if (s.sector_w[j] > 0) s.position[j] = present++;
  }
  s.sector_return.assign(m, 0.0);
  double market = 0;
  if (present > 0) {
    const auto p = static_cast<Eigen::Index>(present);  // unknowns: market + present - 1
    s.a.setZero(p, p);
    s.c.setZero(p);
    for (std::size_t j = 0; j < m; ++j) {
      if (s.position[j] < 0) continue;
      const Eigen::Index q = s.position[j];
      const double wj = s.sector_w[j];
      const double yj = s.sector_wr[j];
      // b = e_0 + e_{1+q} for q < p - 1; b = e_0 - sum_{l>=1} e_l for the last present sector.
      if (q + 1 < p) {
        s.a(0, 0) += wj;
        s.a(0, 1 + q) += wj;
        s.a(1 + q, 0) += wj;
        s.a(1 + q, 1 + q) += wj;
        s.c(0) += yj;
        s.c(1 + q) += yj;
      } else {
        s.a(0, 0) += wj;
        s.a.block(0, 1, 1, p - 1).array() -= wj;
        s.a.block(1, 0, p - 1, 1).array() -= wj;
        s.a.block(1, 1, p - 1, p - 1).array() += wj;
        s.c(0) += yj;
        s.c.tail(p - 1).array() -= yj;
      }
    }
    s.cod.compute(s.a);
    const Eigen::VectorXd g = s.cod.solve(s.c);
    market = g(0);
    double sum = 0;
    for (std::size_t j = 0; j < m; ++j) {
      const int q = s.position[j];
      if (q < 0 || q + 1 == present) continue;
      s.sector_return[j] = g(1 + q);
      sum += g(1 + q);
    }
    for (std::size_t j = 0; j < m; ++j) {
      if (s.position[j] + 1 == present) s.sector_return[j] = -sum;
    }
  }

  // Sector residuals, then the styles on them (or on the returns).
  out.residuals.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    out.residuals[i] = s.r[i] - market - s.sector_return[x.sectors[i]];
  }
  out.factor_returns.assign(1 + m + k, 0.0);
  out.factor_returns[0] = market;
  for (std::size_t j = 0; j < m; ++j) out.factor_returns[1 + j] = s.sector_return[j];
  if (k > 0 && n > 0) {
    const auto kk = static_cast<Eigen::Index>(k);
    s.a.setZero(kk, kk);
    s.c.setZero(kk);
    const std::span<const double> target = options.residualize_styles
                                               ? std::span<const double>(out.residuals)
                                               : std::span<const double>(s.r);
    for (std::size_t i = 0; i < n; ++i) {
      const double* xi = x.styles.data() + i * k;
      const double wi = s.w[i];
      for (std::size_t a = 0; a < k; ++a) {
        const double wa = wi * xi[a];
        s.c(static_cast<Eigen::Index>(a)) += wa * target[i];
        for (std::size_t b = 0; b <= a; ++b) {
          s.a(static_cast<Eigen::Index>(a), static_cast<Eigen::Index>(b)) += wa * xi[b];
        }
      }
    }
    s.a.triangularView<Eigen::StrictlyUpper>() = s.a.transpose();
    s.cod.compute(s.a);
    const Eigen::VectorXd f = s.cod.solve(s.c);
    for (std::size_t a = 0; a < k; ++a)
      out.factor_returns[1 + m + a] = f(static_cast<Eigen::Index>(a));
    for (std::size_t i = 0; i < n; ++i) {
      const double* xi = x.styles.data() + i * k;
      double fit = 0;
      for (std::size_t a = 0; a < k; ++a) fit += xi[a] * f(static_cast<Eigen::Index>(a));
      out.residuals[i] -= fit;
    }
  }

  double sw = 0;
  double swr = 0;
  for (std::size_t i = 0; i < n; ++i) {
    sw += s.w[i];
    swr += s.w[i] * s.r[i];
  }
  const double mean = sw > 0 ? swr / sw : 0;
  double tss = 0;
  double rss = 0;
  for (std::size_t i = 0; i < n; ++i) {
    tss += s.w[i] * (s.r[i] - mean) * (s.r[i] - mean);
    rss += s.w[i] * out.residuals[i] * out.residuals[i];
  }
  out.r_squared = tss > 0 ? 1 - rss / tss : 0;
  return {};
}

}  // namespace nautilus::toraniko
