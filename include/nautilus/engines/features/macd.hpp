// MACD (fast EMA − slow EMA), its signal line (an EMA of MACD) and the histogram, seeded as
// TA-Lib's TA_MACD seeds them: both EMAs produce their first value on the same bar, the
// slow-th, so the fast EMA's SMA seed covers the `fast` bars ending there, not the first
// `fast` bars. The signal EMA is seeded with the mean of the first `signal` MACD values.
// Lookback (slow − 1) + (signal − 1): 33 bars for 12/26/9. TA-Lib swaps fast and slow when
// fast > slow; so does this.
//
//   Macd macd(12, 26, 9);
//   macd.update(close);
//   if (macd.initialized()) use(macd.macd(), macd.signal(), macd.histogram());
#pragma once

#include <cmath>
#include <utility>

#include "nautilus/engines/features/ema.hpp"

namespace nautilus::features {

class Macd {
 public:
  Macd(int fast, int slow, int signal)
      : fast_n_(fast < slow ? fast : slow),
        slow_n_(fast < slow ? slow : fast),
        fast_(fast_n_),
        slow_(slow_n_),
        signal_(signal) {}

  void update(double x) noexcept {
    slow_.update(x);
    // The fast EMA starts late so that its seed ends on the same bar as the slow one's.
    if (seen_ >= slow_n_ - fast_n_) fast_.update(x);
    if (seen_ < slow_n_) ++seen_;
    if (!slow_.initialized()) return;
    macd_ = fast_.value() - slow_.value();
    signal_.update(macd_);
  }
  [[nodiscard]] bool initialized() const noexcept { return signal_.initialized(); }
  [[nodiscard]] double macd() const noexcept { return initialized() ? macd_ : NAN; }
  [[nodiscard]] double signal() const noexcept { return signal_.value(); }
  [[nodiscard]] double histogram() const noexcept {
    return initialized() ? macd_ - signal_.value() : NAN;
  }
  [[nodiscard]] int lookback() const noexcept { return slow_.lookback() + signal_.lookback(); }
  void reset() noexcept {
    fast_.reset();
    slow_.reset();
    signal_.reset();
    seen_ = 0;
    macd_ = 0;
  }

 private:
  int fast_n_;
  int slow_n_;
  Ema fast_;
  Ema slow_;
  Ema signal_;
  int seen_ = 0;  // inputs, capped at slow
  double macd_ = 0;
};

}  // namespace nautilus::features
