// Monte Carlo VaR at 100,000 scenarios x 500 positions (risk::monte_carlo_var, 99%), part of
// `nautilus bench loop` (loop_suite.cpp calls it):
//   risk.mc_var_seconds: the default path (w = L'v once, one dot product a scenario), one
//     thread, from the Cholesky factor to the ES;
//   risk.mc_var_2t_seconds: the same on two threads;
//   risk.mc_var_full_matrix_seconds: the literal scenario matrix (Z L' then v, Eigen's GEMM at the
//     build's SIMD level), two threads;
//   risk.mc_var_ratio_vs_numpy, risk.mc_var_full_ratio_vs_numpy: the anchor, numpy's
//   Cholesky-and-multiply
//     over the same covariance and positions in the same run (bench/loop/var_numpy.py on Debian's
//     OpenBLAS, OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset for that command): numpy's
//     projected Z @ (L.T @ v) against ours on one thread, and its (mean + Z @ L.T) @ v against
//     our full-matrix path. Each note gives both VaRs, which agree statistically only (other
//     random numbers), in standard errors.
// The anchor script runs from NAUTILUS_SOURCE_DIR (a compile definition, as for models_suite).
#pragma once

#include "../common/report.hpp"

namespace nautilus::bench {

void run_var_bench(const SuiteOptions& options);

}  // namespace nautilus::bench
