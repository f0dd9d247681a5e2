// The ml engine's linear models, fitted on a window of samples (no bus here):
//
//   ridge     minimize ||y - X w - b||^2 + alpha ||w||^2           (scikit-learn's Ridge)
//   logistic  minimize sum log(1 + exp(-s (x.w + b))) + ||w||^2 / (2 C), s = +-1
//                                                   (scikit-learn's LogisticRegression, L2)
//
// The intercept b is never penalized, as in scikit-learn (fit_intercept=True). Ridge is solved
// in closed form on the centered data; logistic by Newton's method on the exact gradient and
// Hessian, to a gradient of 1e-12, so both agree with scikit-learn run to a tight tolerance
// (tests/reference/ml_reference.py) to 1e-8.
//
//   ml::LinearModel m = *ml::fit_ridge(x, y, n, p, /*alpha=*/1.0);
//   double yhat = m.predict(row);
//   ml::LinearModel c = *ml::fit_logistic(x, labels01, n, p, /*C=*/1.0);
//   double prob = c.probability(row);
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "nautilus/core/error.hpp"

namespace nautilus::ml {

struct LinearModel {
  std::vector<double> weights;  // p
  double intercept = 0;
  std::size_t iterations = 0;  // Newton steps (logistic); 0 for ridge

  [[nodiscard]] double predict(std::span<const double> x) const;      // x.w + b
  [[nodiscard]] double probability(std::span<const double> x) const;  // 1 / (1 + exp(-(x.w + b)))
};

// `x` is n x p, sample-major (x[i * p + j]). kInvalidArgument: sizes that disagree, n < 2, a
// value that is not finite, alpha < 0 (C <= 0), labels other than 0 and 1. kOutOfRange: the
// system is singular (alpha 0 with collinear columns), or Newton did not converge.
[[nodiscard]] core::Result<LinearModel> fit_ridge(std::span<const double> x,
                                                  std::span<const double> y, std::size_t n,
                                                  std::size_t p, double alpha);
[[nodiscard]] core::Result<LinearModel> fit_logistic(std::span<const double> x,
                                                     std::span<const double> labels, std::size_t n,
                                                     std::size_t p, double c);

}  // namespace nautilus::ml
