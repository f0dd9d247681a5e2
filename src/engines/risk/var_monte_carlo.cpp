// Monte Carlo VaR and ES (var.hpp): the covariance factored once, then scenarios in fixed blocks
// of kScenariosPerBlock, each block from its own stream, shared out among the threads.
#include <fmt/format.h>

#include <Eigen/Dense>
#include <algorithm>
#include <atomic>
#include <cmath>
#include <system_error>
#include <thread>

#include "nautilus/engines/risk/var.hpp"
#include "nautilus/engines/risk/var_detail.hpp"
#include "nautilus/engines/risk/var_random.hpp"

namespace nautilus::risk {
namespace {

using RowMajor = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

std::unexpected<core::Error> invalid(std::string message) {
  return core::fail(core::ErrorCode::kInvalidArgument, "risk: " + std::move(message));
}

struct Factor {
  Eigen::MatrixXd f;  // F F' = S
  Factorization kind = Factorization::kCholesky;
};

core::Result<Factor> factor(const NormalModel& m) {
  const auto n = static_cast<Eigen::Index>(m.instruments);
  // Both factorizations read the lower triangle only.
  const Eigen::MatrixXd s = Eigen::Map<const RowMajor>(m.covariance.data(), n, n);
  const Eigen::LLT<Eigen::MatrixXd> llt(s);
  if (llt.info() == Eigen::Success) return Factor{llt.matrixL(), Factorization::kCholesky};
  // Singular (LLT met a pivot <= 0). The pivoted LDLT takes the largest remaining diagonal
  // first, so the rank is used up before the pivots that are zero but for rounding.
  const Eigen::LDLT<Eigen::MatrixXd> ldlt(s);
  const Eigen::VectorXd root = ldlt.vectorD().cwiseMax(0.0).cwiseSqrt();
  const Eigen::MatrixXd l = ldlt.matrixL();
  Factor out{.f = ldlt.transpositionsP().transpose() * (l * root.asDiagonal()),
             .kind = Factorization::kPivotedLdlt};
  // LDLT reports a zero pivot with a non-zero column below it as a numerical issue, and an
  // indefinite S has pivots below 0 beyond rounding: in both cases F F' is not S. Comparing
  // the two is the one check that covers every way of not being positive semidefinite.
  const Eigen::MatrixXd back = out.f * out.f.transpose();
  const double largest = s.diagonal().maxCoeff();
  const double error =
      (back - s).triangularView<Eigen::Lower>().toDenseMatrix().cwiseAbs().maxCoeff();
  if (!(error <= 1e-9 * largest)) {
    return invalid(fmt::format(
        "covariance is not positive semidefinite (its nearest LDL' factor misses it by {:.3g}, "
        "largest variance {:.3g})",
        error, largest));
  }
  return out;
}

// Fixed summation order (four running sums, combined pairwise), so the result does not depend
// on how a library would vectorise a reduction.
double dot(const double* a, const double* b, std::size_t n) {
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    s0 += a[i] * b[i];
    s1 += a[i + 1] * b[i + 1];
    s2 += a[i + 2] * b[i + 2];
    s3 += a[i + 3] * b[i + 3];
  }
  for (; i < n; ++i) s0 += a[i] * b[i];
  return (s0 + s1) + (s2 + s3);
}

struct Job {
  std::size_t scenarios = 0;
  std::uint64_t seed = 0;
  std::size_t n = 0;
  double mean_pnl = 0;                 // v' mu
  const Eigen::VectorXd* w = nullptr;  // F'v (projected)
  const Eigen::MatrixXd* f = nullptr;  // F (full)
  const Eigen::VectorXd* mu = nullptr;
  const Eigen::VectorXd* v = nullptr;
  double* pnl = nullptr;
};

void projected_block(const Job& job, std::size_t block) {
  NormalStream stream(block_seed(job.seed, block));
  std::vector<double> z(job.n);
  const std::size_t first = block * kScenariosPerBlock;
  const std::size_t last = std::min(first + kScenariosPerBlock, job.scenarios);
  for (std::size_t s = first; s < last; ++s) {
    stream.fill(z);
    job.pnl[s] = job.mean_pnl + dot(job.w->data(), z.data(), job.n);
  }
}

// The scenario matrix a slice of rows at a time (128 x N normals, then 128 x N returns), so that
// memory stays at 2 x 128 x N doubles whatever the block; the stream does not care.
void full_block(const Job& job, std::size_t block) {
  constexpr std::size_t kRows = 128;
  NormalStream stream(block_seed(job.seed, block));
  const auto n = static_cast<Eigen::Index>(job.n);
  RowMajor z(static_cast<Eigen::Index>(kRows), n);
  RowMajor r(static_cast<Eigen::Index>(kRows), n);
  const std::size_t first = block * kScenariosPerBlock;
  const std::size_t last = std::min(first + kScenariosPerBlock, job.scenarios);
  for (std::size_t s = first; s < last; s += kRows) {
    const auto rows = static_cast<Eigen::Index>(std::min(kRows, last - s));
    auto zs = z.topRows(rows);
    auto rs = r.topRows(rows);
    stream.fill(std::span<double>(zs.data(), static_cast<std::size_t>(rows * n)));
    rs.noalias() = zs * job.f->transpose();
    rs.rowwise() += job.mu->transpose();
    const Eigen::VectorXd p = rs * *job.v;
    for (Eigen::Index k = 0; k < rows; ++k) job.pnl[s + static_cast<std::size_t>(k)] = p(k);
  }
}

// Blocks go to whichever thread asks next; every block writes only its own scenarios.
void run_blocks(const Job& job, MonteCarloPath path, std::size_t threads) {
  const std::size_t blocks = (job.scenarios + kScenariosPerBlock - 1) / kScenariosPerBlock;
  std::atomic<std::size_t> next{0};
  const auto work = [&] {
    for (std::size_t b = next.fetch_add(1); b < blocks; b = next.fetch_add(1)) {
      if (path == MonteCarloPath::kProjected) {
        projected_block(job, b);
      } else {
        full_block(job, b);
      }
    }
  };
  std::vector<std::thread> helpers;
  for (std::size_t t = 1; t < std::min(threads, blocks); ++t) {
    try {
      helpers.emplace_back(work);
    } catch (const std::system_error&) {
      break;  // no more threads to be had: this one does the rest
    }
  }
  work();
  for (auto& t : helpers) t.join();
}

}  // namespace

core::Result<MonteCarloPnl> monte_carlo_pnl(std::span<const double> positions,
                                            const NormalModel& model,
                                            const MonteCarloOptions& options) {
  if (auto ok = detail::check_model(model); !ok) return std::unexpected(ok.error());
  if (auto ok = detail::check_positions(positions, model.instruments); !ok) {
    return std::unexpected(ok.error());
  }
  if (options.scenarios < 2) {
    return invalid(fmt::format("{} Monte Carlo scenarios (at least 2)", options.scenarios));
  }
  if (options.threads == 0) return invalid("0 threads");
  auto fac = factor(model);
  if (!fac) return std::unexpected(fac.error());
  const auto n = static_cast<Eigen::Index>(model.instruments);
  const Eigen::VectorXd v = Eigen::Map<const Eigen::VectorXd>(positions.data(), n);
  const Eigen::VectorXd mu =
      options.zero_mean ? Eigen::VectorXd::Zero(n)
                        : Eigen::VectorXd(Eigen::Map<const Eigen::VectorXd>(model.mean.data(), n));
  const Eigen::VectorXd w = fac->f.transpose() * v;
  MonteCarloPnl out{.pnl = std::vector<double>(options.scenarios),
                    .mean = dot(v.data(), mu.data(), model.instruments),
                    .sigma = w.norm(),
                    .factorization = fac->kind};
  const Job job{.scenarios = options.scenarios,
                .seed = options.seed,
                .n = model.instruments,
                .mean_pnl = out.mean,
                .w = &w,
                .f = &fac->f,
                .mu = &mu,
                .v = &v,
                .pnl = out.pnl.data()};
  run_blocks(job, options.path, options.threads);
  return out;
}

namespace {
// One confidence's VaR and ES from the simulated scenarios.
core::Result<VarResult> var_of(const MonteCarloPnl& sim, double confidence) {
  auto out = empirical_var(sim.pnl, confidence);
  if (!out) return std::unexpected(out.error());
  out->method = Method::kMonteCarlo;
  out->pnl_mean = sim.mean;
  out->pnl_sigma = sim.sigma;
  out->factorization = sim.factorization;
  return out;
}
}  // namespace

core::Result<VarResult> monte_carlo_var(std::span<const double> positions, const NormalModel& model,
                                        double confidence, const MonteCarloOptions& options) {
  // Before the scenarios, not after them.
  if (auto ok = detail::check_confidence(confidence); !ok) return std::unexpected(ok.error());
  auto sim = monte_carlo_pnl(positions, model, options);
  if (!sim) return std::unexpected(sim.error());
  return var_of(*sim, confidence);
}

core::Result<VarResult> monte_carlo_var(std::span<const double> positions,
                                        const ReturnsPanel& returns, double confidence,
                                        const MonteCarloOptions& options) {
  auto all = monte_carlo_var(positions, returns, std::span<const double>(&confidence, 1), options);
  if (!all) return std::unexpected(all.error());
  return all->front();
}

core::Result<std::vector<VarResult>> monte_carlo_var(std::span<const double> positions,
                                                     const ReturnsPanel& returns,
                                                     std::span<const double> confidences,
                                                     const MonteCarloOptions& options) {
  for (const double c : confidences) {
    if (auto ok = detail::check_confidence(c); !ok) return std::unexpected(ok.error());
  }
  if (auto ok = detail::check_panel(returns); !ok) return std::unexpected(ok.error());
  if (auto ok = detail::check_positions(positions, returns.instruments); !ok) {
    return std::unexpected(ok.error());
  }
  auto model = estimate_normal_model(returns);
  if (!model) return std::unexpected(model.error());
  auto sim = monte_carlo_pnl(positions, *model, options);
  if (!sim) return std::unexpected(sim.error());
  std::vector<VarResult> out;
  for (const double c : confidences) {
    auto r = var_of(*sim, c);
    if (!r) return std::unexpected(r.error());
    out.push_back(*r);
  }
  return out;
}

}  // namespace nautilus::risk
