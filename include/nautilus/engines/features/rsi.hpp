// Relative strength index, Wilder's, as TA-Lib's TA_RSI: the first average gain and loss are
// simple means of the first n changes, then each is smoothed as (prev·(n−1) + x)/n. Lookback
// n (n+1 prices give the first value). Where gains and losses are both (near) zero, as over a
// flat run, TA-Lib writes 0, and so does this.
//
//   Rsi rsi(14);
//   rsi.update(close);
//   if (rsi.initialized()) use(rsi.value());
#pragma once

#include <cmath>

namespace nautilus::features {

class Rsi {
 public:
  explicit Rsi(int n) : n_(n) {}

  void update(double x) noexcept {
    if (count_ == 0) {  // the first price only sets the reference
      prev_ = x;
      count_ = 1;
      return;
    }
    const double change = x - prev_;
    prev_ = x;
    // Branch-free split; adding 0.0 leaves a sum unchanged, so this rounds as TA-Lib's if/else.
    const double gain = change < 0 ? 0.0 : change;
    const double loss = change < 0 ? -change : 0.0;
    if (count_ > n_) {
      avg_loss_ *= (n_ - 1);
      avg_gain_ *= (n_ - 1);
      avg_loss_ += loss;
      avg_gain_ += gain;
      avg_loss_ /= n_;
      avg_gain_ /= n_;
    } else {
      avg_loss_ += loss;
      avg_gain_ += gain;
      if (++count_ > n_) {
        avg_loss_ /= n_;
        avg_gain_ /= n_;
      } else {
        return;
      }
    }
    const double total = avg_gain_ + avg_loss_;
    value_ = (-kEpsilon < total && total < kEpsilon) ? 0.0 : 100.0 * (avg_gain_ / total);
  }
  [[nodiscard]] double value() const noexcept { return count_ > n_ ? value_ : NAN; }
  [[nodiscard]] bool initialized() const noexcept { return count_ > n_; }
  [[nodiscard]] int lookback() const noexcept { return n_; }
  [[nodiscard]] int period() const noexcept { return n_; }
  void reset() noexcept {
    count_ = 0;
    prev_ = avg_gain_ = avg_loss_ = value_ = 0;
  }

 private:
  static constexpr double kEpsilon = 1e-14;  // TA-Lib's TA_EPSILON (TA_IS_ZERO)
  int n_;
  int count_ = 0;  // prices seen, capped at n + 1
  double prev_ = 0;
  double avg_gain_ = 0;
  double avg_loss_ = 0;
  double value_ = 0;
};

}  // namespace nautilus::features
