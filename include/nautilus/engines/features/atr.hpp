// Average true range, Wilder's, as TA-Lib's TA_ATR: the true range needs the previous close, so
// it exists from the second bar; the first ATR is the simple mean of the first n true ranges,
// then (prev·(n−1) + TR)/n. Lookback n.
//
//   Atr atr(14);
//   atr.update(high, low, close);
//   if (atr.initialized()) use(atr.value());
#pragma once

#include <cmath>

namespace nautilus::features {

// max(high − low, |prev_close − high|, |prev_close − low|), compared in TA_TRANGE's order.
[[nodiscard]] inline double true_range(double high, double low, double prev_close) noexcept {
  double greatest = high - low;
  const double up = std::fabs(prev_close - high);
  if (up > greatest) greatest = up;
  const double down = std::fabs(prev_close - low);
  if (down > greatest) greatest = down;
  return greatest;
}

class Atr {
 public:
  explicit Atr(int n) : n_(n) {}

  void update(double high, double low, double close) noexcept {
    if (count_ == 0) {
      prev_close_ = close;
      count_ = 1;
      return;
    }
    const double tr = true_range(high, low, prev_close_);
    prev_close_ = close;
    if (count_ > n_) {
      value_ *= (n_ - 1);
      value_ += tr;
      value_ /= n_;
    } else {
      value_ += tr;
      if (++count_ > n_) value_ /= n_;
    }
  }
  [[nodiscard]] double value() const noexcept { return count_ > n_ ? value_ : NAN; }
  [[nodiscard]] bool initialized() const noexcept { return count_ > n_; }
  [[nodiscard]] int lookback() const noexcept { return n_; }
  void reset() noexcept {
    count_ = 0;
    prev_close_ = value_ = 0;
  }

 private:
  int n_;
  int count_ = 0;  // bars seen, capped at n + 1
  double prev_close_ = 0;
  double value_ = 0;  // the sum of true ranges until initialised, then the ATR
};

}  // namespace nautilus::features
