// A portfolio's one-day value at risk (VaR) and expected shortfall (ES), three ways: historical
// simulation, the variance-covariance (parametric normal) method, and Monte Carlo under that
// normal model. Post-trade risk mathematics with no bus here: the risk engine will call it.
//
// A portfolio is a vector v of position market values in account currency, one per instrument
// (negative: short). Its history is a ReturnsPanel of daily simple returns, T days x N
// instruments, day-major. Day t's P&L is P&L_t = sum_i v_i r_{t,i}. VaR and ES are losses, in
// account currency: VaR 1200 means the quantile day loses 1200 (negative: even that day gains).
//
//   std::vector<double> v = {1e6, -4e5, 2.5e5};                       // N = 3
//   std::vector<double> r = ...;                                      // 500 x 3, r[t * 3 + i]
//   risk::ReturnsPanel panel{.values = r, .days = 500, .instruments = 3};
//   auto h = risk::historical_var(v, panel, 0.99);                    // core::Result<VarResult>
//   auto p = risk::parametric_var(v, panel, 0.99);
//   auto m = risk::monte_carlo_var(v, panel, 0.99, {.scenarios = 100'000, .seed = 7});
//   if (!m) return std::unexpected(m.error());
//   use(m->var, m->expected_shortfall);
//
// Definitions, exactly (tests/reference/var_reference.py recomputes each with numpy and scipy):
// - Empirical quantile of a P&L sample x_1..x_n at p = 1 - confidence: numpy's default
//   np.quantile(x, p) (method "linear", Hyndman & Fan's type 7). Sort x ascending (x_(0) the
//   lowest); h = (n - 1) p, j = floor(h), g = h - j, d = x_(j+1) - x_(j); q = x_(j) + d g when
//   g < 1/2 and x_(j+1) - d (1 - g) when not (numpy's _lerp, which rounds that way). VaR = -q;
//   ES = -(mean of the x_i <= q): the P&L at or below the quantile, ties included.
// - Historical: that quantile over the n = T days' P&L.
// - Parametric: mu = v' mean(r) (or 0: zero_mean) and sigma = sqrt(v' S v), S the sample
//   covariance (ddof 1). VaR = -(mu + z_{1-c} sigma), ES = -(mu - sigma phi(z_c) / (1 - c)),
//   z_p the standard normal quantile, phi its density (Boost.Math).
// - Monte Carlo: scenario s's returns r_s = mu + F z_s, with z_s N standard normal variates
//   (var_random.hpp) and F F' = S (see Factorization); P&L_s = v' r_s; VaR and ES by the empirical
//   quantile over the scenarios. It converges to the parametric values as the scenarios grow.
//
// Errors are kInvalidArgument: sizes that disagree, no instruments, fewer than 2 days, a value
// that is not finite, a confidence outside (0.5, 1), fewer than 2 scenarios, 0 threads, and a
// covariance that is not symmetric or not positive semidefinite (NormalModel).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "nautilus/core/error.hpp"

namespace nautilus::risk {

// values[t * instruments + i]: instrument i's simple return on day t (0.01 is +1%).
struct ReturnsPanel {
  std::span<const double> values;
  std::size_t days = 0;
  std::size_t instruments = 0;
};

enum class Method : std::uint8_t { kHistorical, kParametric, kMonteCarlo };
[[nodiscard]] std::string_view to_string(Method method) noexcept;

// How the Monte Carlo wrote the covariance S as F F'.
enum class Factorization : std::uint8_t {
  kNone,      // not a Monte Carlo result
  kCholesky,  // F = L, S = L L' (Eigen's LLT): S positive definite, the usual case
  // S = P' L D L' P (Eigen's pivoted LDLT), F = P' L sqrt(D): when LLT fails because S is
  // singular, as a sample covariance of fewer days than instruments, or of collinear
  // instruments, is. Pivots below 0 (by rounding) count as 0. No ridge is added, so F F' is S
  // itself to rounding; that is checked, and a difference above 1e-9 of S's largest variance
  // means S is not positive semidefinite, an error.
  kPivotedLdlt,
};
[[nodiscard]] std::string_view to_string(Factorization factorization) noexcept;

struct VarResult {
  double var = 0;                 // account currency, a loss
  double expected_shortfall = 0;  // account currency, a loss; >= var
  double confidence = 0;          // as given, e.g. 0.99
  Method method = Method::kHistorical;
  // The P&L distribution the method used: historical, the days' P&L (mean, and standard
  // deviation with ddof 1); parametric, mu and sigma; Monte Carlo, the model's mu and ||F'v||,
  // sigma as factored (so a factorization error shows against the parametric sigma).
  double pnl_mean = 0;
  double pnl_sigma = 0;
  // Days (historical, parametric from a panel), scenarios (Monte Carlo), 0 (parametric from a
  // NormalModel).
  std::size_t samples = 0;
  Factorization factorization = Factorization::kNone;
};

// A multivariate normal model of one day's returns.
struct NormalModel {
  std::vector<double> mean;        // N
  std::vector<double> covariance;  // N x N, row-major, symmetric (to 1e-10 of its largest
                                   // diagonal; only its lower triangle is read)
  std::size_t instruments = 0;
};

// The panel's sample mean and covariance (ddof 1, exactly symmetric).
[[nodiscard]] core::Result<NormalModel> estimate_normal_model(const ReturnsPanel& returns);

// VaR and ES of any P&L sample by the empirical quantile (method kHistorical; at least 2 values).
[[nodiscard]] core::Result<VarResult> empirical_var(std::span<const double> pnl, double confidence);

[[nodiscard]] core::Result<VarResult> historical_var(std::span<const double> positions,
                                                     const ReturnsPanel& returns,
                                                     double confidence);

struct ParametricOptions {
  bool zero_mean = false;  // mu = 0 (S is still the covariance about the sample mean)
};

// From a panel, sigma is the standard deviation (ddof 1) of the days' P&L, which is
// sqrt(v' S v) without forming S: O(T N) instead of O(T N^2).
[[nodiscard]] core::Result<VarResult> parametric_var(std::span<const double> positions,
                                                     const ReturnsPanel& returns, double confidence,
                                                     const ParametricOptions& options = {});
[[nodiscard]] core::Result<VarResult> parametric_var(std::span<const double> positions,
                                                     const NormalModel& model, double confidence,
                                                     const ParametricOptions& options = {});

enum class MonteCarloPath : std::uint8_t {
  // The default. P&L_s = v' mu + (F'v)' z_s: w = F'v is computed once, then each scenario is one
  // dot product of w with its N normals, N multiply-adds instead of N^2. Generating the normals
  // is then nearly all the time.
  kProjected,
  // The literal scenario matrix: returns R = 1 mu' + Z F' for a block of scenarios (Z: scenarios
  // x N normals, an Eigen matrix product), then P&L = R v; N^2 multiply-adds a scenario. The
  // same numbers as kProjected to rounding (the same Z); for measuring against numpy's
  // np.linalg.cholesky then Z @ L.T @ v.
  kFullMatrix,
};

// Scenario s is drawn from the stream NormalStream(block_seed(seed, s / kScenariosPerBlock)),
// as that stream's (s % kScenariosPerBlock)-th run of N normals, so every scenario is the same
// whatever the thread count, and blocks are what the threads share out.
inline constexpr std::size_t kScenariosPerBlock = 1024;

struct MonteCarloOptions {
  std::size_t scenarios = 100'000;
  std::uint64_t seed = 1;
  bool zero_mean = false;   // mu = 0
  std::size_t threads = 1;  // the results do not depend on it; 2 halves the time on 2 free cores
  MonteCarloPath path = MonteCarloPath::kProjected;
};

// The scenarios' P&L, in scenario order, and how S was factored.
struct MonteCarloPnl {
  std::vector<double> pnl;
  double mean = 0;   // v' mu
  double sigma = 0;  // ||F'v||
  Factorization factorization = Factorization::kCholesky;
};
[[nodiscard]] core::Result<MonteCarloPnl> monte_carlo_pnl(std::span<const double> positions,
                                                          const NormalModel& model,
                                                          const MonteCarloOptions& options = {});

// The model is estimate_normal_model(returns) (with a zero mean when zero_mean).
[[nodiscard]] core::Result<VarResult> monte_carlo_var(std::span<const double> positions,
                                                      const ReturnsPanel& returns,
                                                      double confidence,
                                                      const MonteCarloOptions& options = {});
[[nodiscard]] core::Result<VarResult> monte_carlo_var(std::span<const double> positions,
                                                      const NormalModel& model, double confidence,
                                                      const MonteCarloOptions& options = {});
// Several confidences from one simulation: the same results as a call per confidence (the
// scenarios depend only on the seed), for the cost of one (the risk engine asks for two).
[[nodiscard]] core::Result<std::vector<VarResult>> monte_carlo_var(
    std::span<const double> positions, const ReturnsPanel& returns,
    std::span<const double> confidences, const MonteCarloOptions& options = {});

}  // namespace nautilus::risk
