// Exponential moving average with k = 2/(n+1), seeded with the simple mean of its first n
// inputs (TA-Lib's default, TA_COMPATIBILITY_DEFAULT): lookback n − 1. Each step is
// TA-Lib's `((x − prev) · k) + prev`, in that order.
//
//   Ema ema(20);
//   ema.update(close);
//   if (ema.initialized()) use(ema.value());
#pragma once

#include <cmath>

namespace nautilus::features {

class Ema {
 public:
  explicit Ema(int n) : n_(n), k_(2.0 / static_cast<double>(n + 1)) {}

  void update(double x) noexcept {
    if (count_ >= n_) {
      value_ = ((x - value_) * k_) + value_;
      return;
    }
    seed_ += x;
    if (++count_ == n_) value_ = seed_ / n_;
  }
  [[nodiscard]] double value() const noexcept { return count_ >= n_ ? value_ : NAN; }
  [[nodiscard]] bool initialized() const noexcept { return count_ >= n_; }
  [[nodiscard]] int lookback() const noexcept { return n_ - 1; }
  [[nodiscard]] int period() const noexcept { return n_; }
  void reset() noexcept {
    count_ = 0;
    seed_ = 0;
    value_ = 0;
  }

 private:
  int n_;
  double k_;
  int count_ = 0;
  double seed_ = 0;
  double value_ = 0;
};

}  // namespace nautilus::features
