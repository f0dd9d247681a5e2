// Log returns and realized volatility over a window of them.
//
// LogReturn: ln(close / previous close), from the second bar (lookback 1); NaN where either
// price is not positive. Realized volatility: the sample standard deviation (n − 1 in the
// denominator) of the last n log returns, times sqrt(annualization) — R TTR's
// volatility(calc = "close") with its n = our n + 1 (TTR counts prices), as the tests compare. Its
// sums are recomputed from the window each time the window wraps, so rounding cannot build up over
// a long run; O(1) amortised. A window of one repeated return (a flat run) is exactly 0. Lookback n
// (n + 1 prices make n returns).
//
//   LogReturn r;  RealizedVol rv(20, 252.0 * 390);
//   r.update(close);
//   if (r.initialized()) rv.update(r.value());
#pragma once

#include <cmath>
#include <cstddef>

#include "nautilus/engines/features/window.hpp"

namespace nautilus::features {

class LogReturn {
 public:
  void update(double close) noexcept {
    value_ = count_ > 0 && close > 0 && prev_ > 0 ? std::log(close / prev_) : NAN;
    prev_ = close;
    if (count_ < 2) ++count_;
  }
  [[nodiscard]] bool initialized() const noexcept { return count_ > 1; }
  [[nodiscard]] double value() const noexcept { return count_ > 1 ? value_ : NAN; }
  [[nodiscard]] static constexpr int lookback() noexcept { return 1; }
  void reset() noexcept {
    count_ = 0;
    prev_ = value_ = 0;
  }

 private:
  int count_ = 0;
  double prev_ = 0;
  double value_ = 0;
};

class RealizedVol {
 public:
  RealizedVol(int n, double annualization)
      : n_(n), scale_(std::sqrt(annualization)), window_(static_cast<std::size_t>(n)) {}

  // A NaN return (a non-positive price) makes the volatility NaN until it leaves the window;
  // it is kept out of the sums so that it cannot poison them.
  void update(double r) noexcept {
    const bool was_full = window_.full();
    const double leaving = window_.push(r);
    if (was_full) {
      if (std::isnan(leaving)) {
        --nans_;
      } else {
        sum_ -= leaving;
        sum2_ -= leaving * leaving;
      }
    }
    if (std::isnan(r)) {
      ++nans_;
    } else {
      sum_ += r;
      sum2_ += r * r;
    }
    same_run_ = r == last_ ? same_run_ + 1 : 1;
    last_ = r;
    if (++since_resum_ >= window_.capacity()) resum();
  }
  [[nodiscard]] bool initialized() const noexcept { return window_.full() && n_ > 1; }
  [[nodiscard]] double value() const noexcept {
    if (!initialized() || nans_ > 0) return NAN;
    // A window of one repeated return (a flat run) has no deviation at all; the moving sums
    // would leave a rounding residue of about 1e-20 there.
    if (same_run_ >= n_) return 0.0;
    const double mean = sum_ / n_;
    double var = (sum2_ - sum_ * mean) / (n_ - 1);
    if (var < 0) var = 0;  // rounding on a flat run
    return std::sqrt(var) * scale_;
  }
  [[nodiscard]] int lookback() const noexcept { return n_; }
  void reset() noexcept {
    window_.reset();
    sum_ = sum2_ = 0;
    since_resum_ = 0;
    nans_ = 0;
    same_run_ = 0;
    last_ = NAN;
  }

 private:
  void resum() noexcept {
    sum_ = sum2_ = 0;
    for (std::size_t i = 0; i < window_.size(); ++i) {
      const double v = window_.at(i);
      if (std::isnan(v)) continue;
      sum_ += v;
      sum2_ += v * v;
    }
    since_resum_ = 0;
  }
  int n_;
  double scale_;
  Window window_;
  double sum_ = 0;
  double sum2_ = 0;
  std::size_t since_resum_ = 0;
  int nans_ = 0;      // NaN returns in the window
  int same_run_ = 0;  // how many of the latest returns are equal
  double last_ = NAN;
};

}  // namespace nautilus::features
