// Simple moving average over n values, as TA-Lib's TA_SMA computes it: a running total that
// adds the newest value, divides, then subtracts the oldest, in that order, so the results
// (and their rounding) are TA-Lib's. Lookback n − 1: the n-th value gives the first average.
//
//   Sma sma(20);
//   sma.update(close);
//   if (sma.initialized()) use(sma.value());
#pragma once

#include <cmath>
#include <cstddef>

#include "nautilus/engines/features/window.hpp"

namespace nautilus::features {

class Sma {
 public:
  explicit Sma(int n) : n_(n), window_(static_cast<std::size_t>(n)) {}

  void update(double x) noexcept {
    total_ += x;
    window_.push(x);
    if (window_.full()) {
      value_ = total_ / n_;
      total_ -= window_.oldest();  // TA-Lib subtracts the trailing value right after dividing
    }
  }
  [[nodiscard]] double value() const noexcept { return window_.full() ? value_ : NAN; }
  [[nodiscard]] bool initialized() const noexcept { return window_.full(); }
  [[nodiscard]] int lookback() const noexcept { return n_ - 1; }
  [[nodiscard]] int period() const noexcept { return n_; }
  void reset() noexcept {
    window_.reset();
    total_ = 0;
    value_ = 0;
  }

 private:
  int n_;
  Window window_;
  double total_ = 0;
  double value_ = 0;
};

}  // namespace nautilus::features
