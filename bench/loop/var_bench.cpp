#include "var_bench.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <array>
#include <boost/json.hpp>
#include <boost/math/distributions/normal.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "../common/python_anchor.hpp"
#include "nautilus/engines/risk/var.hpp"
#include "nautilus/engines/risk/var_random.hpp"

#ifndef NAUTILUS_SOURCE_DIR
#define NAUTILUS_SOURCE_DIR "."
#endif

namespace nautilus::bench {
namespace {

namespace fs = std::filesystem;
using SteadyClock = std::chrono::steady_clock;

constexpr double kConfidence = 0.99;

struct Book {
  std::vector<double> positions;
  risk::NormalModel model;
};

// A 10-factor covariance (a market factor everyone loads on, nine others) plus idiosyncratic
// variance, positive definite as a factor model's is; long and short positions of 10k to 1M.
Book generate(std::size_t n) {
  constexpr std::size_t kFactors = 10;
  risk::NormalStream z(risk::block_seed(500, 0));
  std::vector<double> draw(n * (kFactors + 3));
  z.fill(draw);
  std::size_t next = 0;
  const auto normal = [&] { return draw[next++]; };
  std::vector<double> loadings(n * kFactors);
  std::vector<double> idio(n);
  Book b;
  b.model.instruments = n;
  b.model.mean.resize(n);
  b.model.covariance.assign(n * n, 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t k = 0; k < kFactors; ++k) {
      loadings[i * kFactors + k] = (k == 0 ? 1.0 : 0.0) + 0.4 * normal();
    }
    idio[i] = 0.01 + 0.005 * std::abs(normal());
    b.model.mean[i] = 0.0003 + 0.0002 * normal();
    b.positions.push_back((i % 4 == 3 ? -1.0 : 1.0) * 1e4 * std::exp(2.3 * std::abs(normal())));
  }
  const double factor_variance = 0.008 * 0.008;
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j <= i; ++j) {
      double s = 0;
      for (std::size_t k = 0; k < kFactors; ++k) {
        s += loadings[i * kFactors + k] * loadings[j * kFactors + k];
      }
      s *= factor_variance;
      if (i == j) s += idio[i] * idio[i];
      b.model.covariance[i * n + j] = s;
      b.model.covariance[j * n + i] = s;
    }
  }
  return b;
}

bool write_raw(const fs::path& path, const std::vector<double>& v) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(v.data()),
            static_cast<std::streamsize>(v.size() * sizeof(double)));
  return static_cast<bool>(out);
}

// The timed runs keep their VaR; storing it keeps the compiler from dropping the work.
volatile double g_sink = 0;

struct Timed {
  double seconds = 0;
  risk::VarResult last;
};

Timed time_mc(const Book& b, const risk::MonteCarloOptions& options, std::size_t runs) {
  Timed out;
  out.seconds = median_of(runs, [&] {
    const auto t0 = SteadyClock::now();
    auto r = risk::monte_carlo_var(b.positions, b.model, kConfidence, options);
    const double s = std::chrono::duration<double>(SteadyClock::now() - t0).count();
    if (!r) {
      fmt::print(stderr, "bench var: {}\n", r.error().message);
      return 0.0;
    }
    out.last = *r;
    g_sink = r->var;
    return s;
  });
  return out;
}

// The numpy anchor as a process; its one JSON line.
std::optional<boost::json::object> run_numpy(const fs::path& dir, std::size_t n,
                                             std::size_t scenarios, std::size_t runs) {
  return run_python_anchor("bench/loop/var_numpy.py",
                           fmt::format("{} {} {} --runs {} --confidence {}", dir.string(), n,
                                       scenarios, runs, kConfidence),
                           "bench var");
}

}  // namespace

void run_var_bench(const SuiteOptions& o) {
  const bool anchor =
      o.wants("risk.mc_var_ratio_vs_numpy") || o.wants("risk.mc_var_full_ratio_vs_numpy");
  const bool want_one = o.wants("risk.mc_var_seconds") || anchor;
  const bool want_two = o.wants("risk.mc_var_2t_seconds");
  const bool want_full = o.wants("risk.mc_var_full_matrix_seconds") || anchor;
  if (!want_one && !want_two && !want_full) return;
  const std::size_t n = o.quick ? 100 : 500;
  const std::size_t scenarios = o.quick ? 20'000 : 100'000;
  const Book b = generate(n);
  const std::size_t runs = std::max<std::size_t>(o.runs, 1);
  // The full-matrix path does N times the arithmetic: at most three runs of it.
  const std::size_t full_runs = std::min<std::size_t>(runs, 3);
  const std::string size = fmt::format("{} scenarios x {} positions, 99%", scenarios, n);

  Timed one;
  if (want_one) {
    one = time_mc(b, {.scenarios = scenarios, .seed = 1, .threads = 1}, runs);
    print({.bench = "risk.mc_var_seconds",
           .value = one.seconds,
           .unit = "s",
           .runs = runs,
           .note = fmt::format("{}, one thread, w = L'v then a dot product a scenario; target <= 1",
                               size)},
          o.json);
  }
  if (want_two) {
    const Timed two = time_mc(b, {.scenarios = scenarios, .seed = 1, .threads = 2}, runs);
    print({.bench = "risk.mc_var_2t_seconds",
           .value = two.seconds,
           .unit = "s",
           .runs = runs,
           .note = fmt::format("{}, two threads (the same numbers as one)", size)},
          o.json);
  }
  Timed full;
  if (want_full) {
    full = time_mc(b,
                   {.scenarios = scenarios,
                    .seed = 1,
                    .threads = 2,
                    .path = risk::MonteCarloPath::kFullMatrix},
                   full_runs);
    print({.bench = "risk.mc_var_full_matrix_seconds",
           .value = full.seconds,
           .unit = "s",
           .runs = full_runs,
           .note = fmt::format("{}, two threads, Z L' then v (Eigen GEMM); VaR {:.9g}", size,
                               full.last.var)},
          o.json);
  }

  if (!anchor) return;
  const fs::path dir = fs::temp_directory_path() / fmt::format("nautilus_bench_var_{}", ::getpid());
  fs::create_directories(dir);
  const bool written = write_raw(dir / "positions.f64", b.positions) &&
                       write_raw(dir / "mean.f64", b.model.mean) &&
                       write_raw(dir / "cov.f64", b.model.covariance);
  const auto numpy = written ? run_numpy(dir, n, scenarios, full_runs) : std::nullopt;
  std::error_code ec;
  fs::remove_all(dir, ec);
  if (!numpy) return;
  // The VaRs agree to sampling error: its standard error, to say how far apart they are.
  const boost::math::normal_distribution<double> normal;
  const double p = 1 - kConfidence;
  const double se = one.last.pnl_sigma * std::sqrt(p * (1 - p)) /
                    (std::sqrt(static_cast<double>(scenarios)) *
                     boost::math::pdf(normal, boost::math::quantile(normal, kConfidence)));
  const auto& threads = numpy->at("threads");
  const std::string blas = fmt::format(
      "numpy {} BLAS {} ({} threads)", std::string(numpy->at("numpy").as_string()),
      std::string(numpy->at("blas").as_string()),
      threads.is_null() ? std::string("?") : fmt::format("{}", threads.to_number<double>()));
  const double numpy_projected = numpy->at("projected_seconds").to_number<double>();
  const double numpy_full = numpy->at("full_seconds").to_number<double>();
  const double numpy_normals = numpy->at("normals_seconds").to_number<double>();
  const std::size_t numpy_runs = static_cast<std::size_t>(numpy->at("runs").to_number<double>());
  print({.bench = "risk.mc_var_ratio_vs_numpy",
         .value = numpy_projected / one.seconds,
         .unit = "x",
         .anchor = "numpy_projected_s",
         .anchor_value = numpy_projected,
         .runs = numpy_runs,
         .note = fmt::format(
             "numpy Z @ (L.T @ v) in blocks of 10,000 (its normals alone {:.3g} s) "
             "against ours on one thread; {}; VaR {:.6g} against ours {:.6g}, "
             "{:.2g} standard errors apart; target >= 1",
             numpy_normals, blas, numpy->at("var_projected").to_number<double>(), one.last.var,
             std::abs(numpy->at("var_projected").to_number<double>() - one.last.var) / se),
         .ratio = numpy_projected / one.seconds},
        o.json);
  print({.bench = "risk.mc_var_full_ratio_vs_numpy",
         .value = numpy_full / full.seconds,
         .unit = "x",
         .anchor = "numpy_full_s",
         .anchor_value = numpy_full,
         .runs = numpy_runs,
         .note = fmt::format("numpy (mean + Z @ L.T) @ v in blocks of 10,000 against our "
                             "full-matrix path on two threads; {}; VaR {:.6g} against ours {:.6g}",
                             blas, numpy->at("var_full").to_number<double>(), full.last.var),
         .ratio = numpy_full / full.seconds},
        o.json);
}

}  // namespace nautilus::bench
