#include "nautilus/engines/ml/linear.hpp"

#include <fmt/format.h>

#include <Eigen/Dense>
#include <cmath>
#include <limits>

namespace nautilus::ml {
namespace {

using Matrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

core::Result<void> check(std::span<const double> x, std::span<const double> y, std::size_t n,
                         std::size_t p) {
  if (x.size() != n * p || y.size() != n || n < 2 || p == 0) {
    return core::fail(core::ErrorCode::kInvalidArgument,
                      fmt::format("ml: {} feature values and {} targets for {} samples of {} "
                                  "features (at least 2 samples, 1 feature)",
                                  x.size(), y.size(), n, p));
  }
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (!std::isfinite(x[i])) {
      return core::fail(core::ErrorCode::kInvalidArgument,
                        fmt::format("ml: sample {} feature {} is not finite", i / p, i % p));
    }
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (!std::isfinite(y[i])) {
      return core::fail(core::ErrorCode::kInvalidArgument,
                        fmt::format("ml: target {} is not finite", i));
    }
  }
  return {};
}

double sigmoid(double z) {
  // Stable on both sides.
  if (z >= 0) return 1 / (1 + std::exp(-z));
  const double e = std::exp(z);
  return e / (1 + e);
}

}  // namespace

double LinearModel::predict(std::span<const double> x) const {
  double z = intercept;
  for (std::size_t j = 0; j < weights.size() && j < x.size(); ++j) z += weights[j] * x[j];
  return z;
}

double LinearModel::probability(std::span<const double> x) const { return sigmoid(predict(x)); }

core::Result<LinearModel> fit_ridge(std::span<const double> x, std::span<const double> y,
                                    std::size_t n, std::size_t p, double alpha) {
  if (auto ok = check(x, y, n, p); !ok) return std::unexpected(ok.error());
  if (!(alpha >= 0) || !std::isfinite(alpha)) {
    return core::fail(core::ErrorCode::kInvalidArgument,
                      fmt::format("ml: ridge alpha {} is not >= 0", alpha));
  }
  const Eigen::Map<const Matrix> X(x.data(), static_cast<Eigen::Index>(n),
                                   static_cast<Eigen::Index>(p));
  const Eigen::Map<const Eigen::VectorXd> Y(y.data(), static_cast<Eigen::Index>(n));
  // The intercept is not penalized: center, solve, and put the means back (scikit-learn's way).
  const Eigen::RowVectorXd mean_x = X.colwise().mean();
  const double mean_y = Y.mean();
  const Matrix xc = X.rowwise() - mean_x;
  const Eigen::VectorXd yc = Y.array() - mean_y;
  Eigen::MatrixXd a = xc.transpose() * xc;
  a.diagonal().array() += alpha;
  const Eigen::LDLT<Eigen::MatrixXd> ldlt(a);
  if (ldlt.info() != Eigen::Success || ldlt.vectorD().minCoeff() <= 0) {
    return core::fail(core::ErrorCode::kOutOfRange,
                      "ml: ridge system is singular (collinear features and alpha 0)");
  }
  const Eigen::VectorXd w = ldlt.solve(xc.transpose() * yc);
  LinearModel m;
  m.weights.assign(w.data(), w.data() + w.size());
  m.intercept = mean_y - mean_x.dot(w);
  return m;
}

core::Result<LinearModel> fit_logistic(std::span<const double> x, std::span<const double> labels,
                                       std::size_t n, std::size_t p, double c) {
  if (auto ok = check(x, labels, n, p); !ok) return std::unexpected(ok.error());
  if (!(c > 0) || !std::isfinite(c)) {
    return core::fail(core::ErrorCode::kInvalidArgument,
                      fmt::format("ml: logistic C {} is not > 0", c));
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (labels[i] != 0 && labels[i] != 1) {
      return core::fail(core::ErrorCode::kInvalidArgument,
                        fmt::format("ml: label {} is {}, not 0 or 1", i, labels[i]));
    }
  }
  const auto np = static_cast<Eigen::Index>(p);
  const Eigen::Map<const Matrix> X(x.data(), static_cast<Eigen::Index>(n), np);
  const Eigen::Map<const Eigen::VectorXd> Y(labels.data(), static_cast<Eigen::Index>(n));
  // Unknowns: w (p), then b. Objective: C sum logloss + ||w||^2 / 2 (scikit-learn's scaling).
  Eigen::VectorXd theta = Eigen::VectorXd::Zero(np + 1);
  Eigen::VectorXd g(np + 1);
  Eigen::MatrixXd h(np + 1, np + 1);
  Eigen::VectorXd prob(static_cast<Eigen::Index>(n));
  const auto objective = [&](const Eigen::VectorXd& t) {
    const Eigen::VectorXd z = (X * t.head(np)).array() + t(np);
    double loss = 0;
    for (Eigen::Index i = 0; i < z.size(); ++i) {
      // log(1 + exp(-s z)) with s = 2y - 1, stably.
      const double m = (2 * Y(i) - 1) * z(i);
      loss += m > 0 ? std::log1p(std::exp(-m)) : -m + std::log1p(std::exp(m));
    }
    return c * loss + 0.5 * t.head(np).squaredNorm();
  };
  // The gradient cannot get below the rounding of X' r: the tolerance scales with the data.
  const double tolerance =
      1e-12 * std::max(1.0, c * static_cast<double>(n) * std::max(1.0, X.cwiseAbs().maxCoeff()));
  LinearModel out;
  for (std::size_t it = 0; it < 100; ++it) {
    const Eigen::VectorXd z = (X * theta.head(np)).array() + theta(np);
    for (Eigen::Index i = 0; i < z.size(); ++i) prob(i) = sigmoid(z(i));
    const Eigen::VectorXd r = prob - Y;
    g.head(np) = c * (X.transpose() * r) + theta.head(np);
    g(np) = c * r.sum();
    if (g.lpNorm<Eigen::Infinity>() <= tolerance) {
      out.iterations = it;
      out.weights.assign(theta.data(), theta.data() + np);
      out.intercept = theta(np);
      return out;
    }
    const Eigen::VectorXd d = (prob.array() * (1 - prob.array())).matrix() * c;
    h.topLeftCorner(np, np) = X.transpose() * d.asDiagonal() * X;
    h.topLeftCorner(np, np).diagonal().array() += 1;
    h.block(0, np, np, 1) = X.transpose() * d;
    h.block(np, 0, 1, np) = h.block(0, np, np, 1).transpose();
    h(np, np) = d.sum();
    const Eigen::VectorXd step = h.ldlt().solve(g);
    // Backtracking keeps each step a descent (separable data drives the intercept far). Near
    // the optimum the decrease is below the objective's rounding: a slack of a few ulps lets
    // the full Newton step through there instead of halving it to nothing (measured: features
    // near 50, like an RSI, stalled 100 steps at a gradient of 1e-10).
    double t = 1;
    const double f0 = objective(theta);
    const double slack = 64 * std::numeric_limits<double>::epsilon() * std::abs(f0);
    while (t > 1e-8 && objective(theta - t * step) > f0 - 1e-4 * t * g.dot(step) + slack) t /= 2;
    theta -= t * step;
  }
  return core::fail(core::ErrorCode::kOutOfRange,
                    "ml: logistic regression did not converge in 100 Newton steps");
}

}  // namespace nautilus::ml
