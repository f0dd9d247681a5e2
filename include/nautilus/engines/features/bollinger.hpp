// Bollinger bands as TA-Lib's TA_BBANDS with a simple moving average: the middle band is the
// n-bar SMA, σ the population standard deviation sqrt(mean(x²) − mean²) from TA-Lib's running
// sums (0 where that difference is below TA-Lib's epsilon, as over a flat run), and the bands
// middle ± k·σ. Lookback n − 1.
//
//   Bollinger bb(20, 2.0);
//   bb.update(close);
//   if (bb.initialized()) use(bb.middle(), bb.upper(), bb.lower());
#pragma once

#include <cmath>
#include <cstddef>

#include "nautilus/engines/features/window.hpp"

namespace nautilus::features {

class Bollinger {
 public:
  Bollinger(int n, double k) : n_(n), k_(k), window_(static_cast<std::size_t>(n)) {}

  void update(double x) noexcept {
    total_ += x;
    total2_ += x * x;
    window_.push(x);
    if (!window_.full()) return;
    const double oldest = window_.oldest();
    middle_ = total_ / n_;
    total_ -= oldest;
    double mean2 = total2_ / n_;
    total2_ -= oldest * oldest;
    mean2 -= middle_ * middle_;
    const double sd = mean2 < kEpsilon ? 0.0 : std::sqrt(mean2);
    const double width = sd * k_;
    upper_ = middle_ + width;
    lower_ = middle_ - width;
  }
  [[nodiscard]] bool initialized() const noexcept { return window_.full(); }
  [[nodiscard]] double middle() const noexcept { return initialized() ? middle_ : NAN; }
  [[nodiscard]] double upper() const noexcept { return initialized() ? upper_ : NAN; }
  [[nodiscard]] double lower() const noexcept { return initialized() ? lower_ : NAN; }
  [[nodiscard]] int lookback() const noexcept { return n_ - 1; }
  void reset() noexcept {
    window_.reset();
    total_ = total2_ = middle_ = upper_ = lower_ = 0;
  }

 private:
  static constexpr double kEpsilon = 1e-14;  // TA-Lib's TA_EPSILON (TA_IS_ZERO_OR_NEG)
  int n_;
  double k_;
  Window window_;
  double total_ = 0;
  double total2_ = 0;
  double middle_ = 0;
  double upper_ = 0;
  double lower_ = 0;
};

}  // namespace nautilus::features
