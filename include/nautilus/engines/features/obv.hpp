// On-balance volume as TA-Lib's TA_OBV: it starts at the first bar's volume (TA-Lib's seed,
// not 0), then adds the volume of a bar that closes up and subtracts that of one that closes
// down; an unchanged close leaves it. Lookback 0.
//
//   Obv obv;
//   obv.update(close, volume);
//   use(obv.value());
#pragma once

#include <cmath>

namespace nautilus::features {

class Obv {
 public:
  void update(double close, double volume) noexcept {
    if (!started_) {
      value_ = volume;
      started_ = true;
    } else if (close > prev_close_) {
      value_ += volume;
    } else if (close < prev_close_) {
      value_ -= volume;
    }
    prev_close_ = close;
  }
  [[nodiscard]] double value() const noexcept { return started_ ? value_ : NAN; }
  [[nodiscard]] bool initialized() const noexcept { return started_; }
  [[nodiscard]] static constexpr int lookback() noexcept { return 0; }
  void reset() noexcept {
    started_ = false;
    value_ = prev_close_ = 0;
  }

 private:
  bool started_ = false;
  double value_ = 0;
  double prev_close_ = 0;
};

}  // namespace nautilus::features
