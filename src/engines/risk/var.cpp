// Historical and parametric VaR and ES, the empirical quantile both historical and Monte Carlo
// use, the sample normal model, and the argument checks (var.hpp).
#include "nautilus/engines/risk/var.hpp"

#include <fmt/format.h>

#include <Eigen/Dense>
#include <algorithm>
#include <boost/math/distributions/normal.hpp>
#include <cmath>

#include "nautilus/engines/risk/var_detail.hpp"

namespace nautilus::risk {
namespace {

std::unexpected<core::Error> invalid(std::string message) {
  return core::fail(core::ErrorCode::kInvalidArgument, "risk: " + std::move(message));
}

// Double precision throughout (Boost's default promotes to long double for no accuracy a VaR
// can use); the arguments are checked first, so no error policy is ever reached.
namespace bm = boost::math;
using Policy = bm::policies::policy<bm::policies::promote_double<false>>;
using Normal = bm::normal_distribution<double, Policy>;

// P&L_t = sum_i v_i r_{t,i}, summed in instrument order.
std::vector<double> daily_pnl(std::span<const double> v, const ReturnsPanel& r) {
  std::vector<double> pnl(r.days);
  for (std::size_t t = 0; t < r.days; ++t) {
    const double* row = r.values.data() + t * r.instruments;
    double s = 0;
    for (std::size_t i = 0; i < r.instruments; ++i) s += v[i] * row[i];
    pnl[t] = s;
  }
  return pnl;
}

struct MeanSd {
  double mean = 0, sd = 0;
};

// Two passes (the mean, then the squares about it): no cancellation from sum x^2 - n mean^2.
MeanSd mean_sd(std::span<const double> x) {
  double s = 0;
  for (const double v : x) s += v;
  const double mean = s / static_cast<double>(x.size());
  double ss = 0;
  for (const double v : x) ss += (v - mean) * (v - mean);
  return {mean, std::sqrt(ss / static_cast<double>(x.size() - 1))};
}

VarResult parametric(double mu, double sigma, double confidence) {
  const Normal n;
  const double p = 1 - confidence;
  const double z_low = bm::quantile(n, p);  // z_{1-c} < 0
  const double density = bm::pdf(n, bm::quantile(n, confidence));
  return {.var = -(mu + z_low * sigma),
          .expected_shortfall = -(mu - sigma * density / p),
          .confidence = confidence,
          .method = Method::kParametric,
          .pnl_mean = mu,
          .pnl_sigma = sigma};
}

}  // namespace

namespace detail {

core::Result<void> check_confidence(double confidence) {
  if (!(confidence > 0.5 && confidence < 1)) {
    return invalid(fmt::format("confidence {} is not in (0.5, 1)", confidence));
  }
  return {};
}

core::Result<void> check_positions(std::span<const double> positions, std::size_t instruments) {
  if (instruments == 0) return invalid("no instruments");
  if (positions.size() != instruments) {
    return invalid(fmt::format("{} positions for {} instruments", positions.size(), instruments));
  }
  for (std::size_t i = 0; i < positions.size(); ++i) {
    if (!std::isfinite(positions[i])) {
      return invalid(fmt::format("position {} is {}", i, positions[i]));
    }
  }
  return {};
}

core::Result<void> check_panel(const ReturnsPanel& r) {
  if (r.instruments == 0) return invalid("no instruments");
  if (r.days < 2) return invalid(fmt::format("{} days of returns (at least 2)", r.days));
  if (r.values.size() / r.instruments != r.days || r.values.size() % r.instruments != 0) {
    return invalid(fmt::format("{} returns for {} days x {} instruments", r.values.size(), r.days,
                               r.instruments));
  }
  for (std::size_t k = 0; k < r.values.size(); ++k) {
    if (!std::isfinite(r.values[k])) {
      return invalid(fmt::format("day {} instrument {} return is {}", k / r.instruments,
                                 k % r.instruments, r.values[k]));
    }
  }
  return {};
}

core::Result<void> check_model(const NormalModel& m) {
  const std::size_t n = m.instruments;
  if (n == 0) return invalid("no instruments");
  if (m.mean.size() != n || m.covariance.size() / n != n || m.covariance.size() % n != 0) {
    return invalid(fmt::format("{} means and {} covariances for {} instruments", m.mean.size(),
                               m.covariance.size(), n));
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (!std::isfinite(m.mean[i])) return invalid(fmt::format("mean {} is {}", i, m.mean[i]));
  }
  double largest = 0;
  for (std::size_t k = 0; k < m.covariance.size(); ++k) {
    if (!std::isfinite(m.covariance[k])) {
      return invalid(fmt::format("covariance ({}, {}) is {}", k / n, k % n, m.covariance[k]));
    }
  }
  for (std::size_t i = 0; i < n; ++i) {
    const double d = m.covariance[i * n + i];
    if (d < 0) return invalid(fmt::format("variance {} is {} < 0", i, d));
    largest = std::max(largest, d);
  }
  // A covariance computed as S' S or by another library may be off symmetric by rounding; more
  // than that is a matrix that is not a covariance.
  const double tolerance = 1e-10 * largest;
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      if (std::abs(m.covariance[i * n + j] - m.covariance[j * n + i]) > tolerance) {
        return invalid(fmt::format("covariance is not symmetric: ({}, {}) is {} and ({}, {}) {}", i,
                                   j, m.covariance[i * n + j], j, i, m.covariance[j * n + i]));
      }
    }
  }
  return {};
}

}  // namespace detail

std::string_view to_string(Method method) noexcept {
  switch (method) {
    case Method::kHistorical:
      return "historical";
    case Method::kParametric:
      return "parametric";
    case Method::kMonteCarlo:
      return "monte_carlo";
  }
  return "?";
}

std::string_view to_string(Factorization factorization) noexcept {
  switch (factorization) {
    case Factorization::kNone:
      return "none";
    case Factorization::kCholesky:
      return "cholesky";
    case Factorization::kPivotedLdlt:
      return "pivoted_ldlt";
  }
  return "?";
}

core::Result<VarResult> empirical_var(std::span<const double> pnl, double confidence) {
  if (auto ok = detail::check_confidence(confidence); !ok) return std::unexpected(ok.error());
  if (pnl.size() < 2) return invalid(fmt::format("{} P&L values (at least 2)", pnl.size()));
  for (std::size_t k = 0; k < pnl.size(); ++k) {
    if (!std::isfinite(pnl[k])) return invalid(fmt::format("P&L {} is {}", k, pnl[k]));
  }
  // Only the two order statistics around h are needed: nth_element puts x_(j) in place and
  // leaves the larger values after it, whose least is x_(j+1). O(n), not a sort.
  std::vector<double> x(pnl.begin(), pnl.end());
  const std::size_t n = x.size();
  const double p = 1 - confidence;
  const double h = static_cast<double>(n - 1) * p;
  const auto j = static_cast<std::size_t>(std::floor(h));
  const double g = h - static_cast<double>(j);
  std::nth_element(x.begin(), x.begin() + static_cast<std::ptrdiff_t>(j), x.end());
  const double lo = x[j];
  const double hi =
      j + 1 < n ? *std::min_element(x.begin() + static_cast<std::ptrdiff_t>(j) + 1, x.end()) : lo;
  const double d = hi - lo;
  const double q = g >= 0.5 ? hi - d * (1 - g) : lo + d * g;
  // x_(j) <= q, so at least one value is in the tail.
  double tail = 0;
  std::size_t count = 0;
  for (const double v : pnl) {
    if (v <= q) {
      tail += v;
      ++count;
    }
  }
  const MeanSd m = mean_sd(pnl);
  return VarResult{.var = -q,
                   .expected_shortfall = -(tail / static_cast<double>(count)),
                   .confidence = confidence,
                   .method = Method::kHistorical,
                   .pnl_mean = m.mean,
                   .pnl_sigma = m.sd,
                   .samples = n};
}

core::Result<VarResult> historical_var(std::span<const double> positions,
                                       const ReturnsPanel& returns, double confidence) {
  if (auto ok = detail::check_confidence(confidence); !ok) return std::unexpected(ok.error());
  if (auto ok = detail::check_panel(returns); !ok) return std::unexpected(ok.error());
  if (auto ok = detail::check_positions(positions, returns.instruments); !ok) {
    return std::unexpected(ok.error());
  }
  const std::vector<double> pnl = daily_pnl(positions, returns);
  return empirical_var(pnl, confidence);
}

core::Result<VarResult> parametric_var(std::span<const double> positions,
                                       const ReturnsPanel& returns, double confidence,
                                       const ParametricOptions& options) {
  if (auto ok = detail::check_confidence(confidence); !ok) return std::unexpected(ok.error());
  if (auto ok = detail::check_panel(returns); !ok) return std::unexpected(ok.error());
  if (auto ok = detail::check_positions(positions, returns.instruments); !ok) {
    return std::unexpected(ok.error());
  }
  // v'S v is the sample variance of the P&L series: S = X_c'X_c / (T - 1) for the centered
  // returns X_c, so v'S v = |X_c v|^2 / (T - 1), and X_c v is the centered P&L.
  const std::vector<double> pnl = daily_pnl(positions, returns);
  const MeanSd m = mean_sd(pnl);
  VarResult out = parametric(options.zero_mean ? 0.0 : m.mean, m.sd, confidence);
  out.samples = returns.days;
  return out;
}

core::Result<VarResult> parametric_var(std::span<const double> positions, const NormalModel& model,
                                       double confidence, const ParametricOptions& options) {
  if (auto ok = detail::check_confidence(confidence); !ok) return std::unexpected(ok.error());
  if (auto ok = detail::check_model(model); !ok) return std::unexpected(ok.error());
  if (auto ok = detail::check_positions(positions, model.instruments); !ok) {
    return std::unexpected(ok.error());
  }
  const std::size_t n = model.instruments;
  double mu = 0;
  double variance = 0;
  for (std::size_t i = 0; i < n; ++i) {
    mu += positions[i] * model.mean[i];
    // The lower triangle only, as the Monte Carlo's factorization reads it.
    double row = positions[i] * model.covariance[i * n + i];
    for (std::size_t j = 0; j < i; ++j) row += 2 * positions[j] * model.covariance[i * n + j];
    variance += positions[i] * row;
  }
  // A hedged book's v'S v can round below 0 (S itself is semidefinite).
  VarResult out =
      parametric(options.zero_mean ? 0.0 : mu, std::sqrt(std::max(variance, 0.0)), confidence);
  out.samples = 0;
  return out;
}

core::Result<NormalModel> estimate_normal_model(const ReturnsPanel& returns) {
  if (auto ok = detail::check_panel(returns); !ok) return std::unexpected(ok.error());
  using RowMajor = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const auto t = static_cast<Eigen::Index>(returns.days);
  const auto n = static_cast<Eigen::Index>(returns.instruments);
  const Eigen::Map<const RowMajor> x(returns.values.data(), t, n);
  const Eigen::RowVectorXd mean = x.colwise().mean();
  const RowMajor xc = x.rowwise() - mean;
  // The lower triangle of X_c'X_c, then mirrored: exactly symmetric, half the multiplies.
  Eigen::MatrixXd s = Eigen::MatrixXd::Zero(n, n);
  s.selfadjointView<Eigen::Lower>().rankUpdate(xc.transpose());
  s /= static_cast<double>(t - 1);
  NormalModel m{.mean = std::vector<double>(mean.data(), mean.data() + n),
                .covariance = std::vector<double>(static_cast<std::size_t>(n * n)),
                .instruments = returns.instruments};
  for (Eigen::Index i = 0; i < n; ++i) {
    for (Eigen::Index j = 0; j <= i; ++j) {
      m.covariance[static_cast<std::size_t>(i * n + j)] = s(i, j);
      m.covariance[static_cast<std::size_t>(j * n + i)] = s(i, j);
    }
  }
  return m;
}

}  // namespace nautilus::risk
