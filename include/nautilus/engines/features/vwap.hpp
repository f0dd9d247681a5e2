// Session VWAP: Σ(typical price · volume) / Σ volume over the bars of the current session,
// with the typical price (high + low + close)/3. A bar whose session differs from the last
// one's (the caller passes a session number, e.g. the UTC date) starts the sums again. Until
// the session has traded any volume there is no VWAP (NaN), not a made-up one. TA-Lib has no
// VWAP; the tests check this against numpy and R's TTR.
//
//   Vwap vwap;
//   vwap.update(high, low, close, volume, utc_day);
//   if (vwap.initialized()) use(vwap.value());
#pragma once

#include <cmath>
#include <cstdint>

namespace nautilus::features {

class Vwap {
 public:
  void update(double high, double low, double close, double volume, std::int64_t session) noexcept {
    if (session != session_) {
      session_ = session;
      price_volume_ = 0;
      volume_ = 0;
    }
    price_volume_ += ((high + low + close) / 3.0) * volume;
    volume_ += volume;
  }
  [[nodiscard]] bool initialized() const noexcept { return volume_ > 0; }
  [[nodiscard]] double value() const noexcept {
    return volume_ > 0 ? price_volume_ / volume_ : NAN;
  }
  [[nodiscard]] static constexpr int lookback() noexcept { return 0; }
  void reset() noexcept {
    session_ = kNoSession;
    price_volume_ = volume_ = 0;
  }

 private:
  static constexpr std::int64_t kNoSession = INT64_MIN;
  std::int64_t session_ = kNoSession;
  double price_volume_ = 0;
  double volume_ = 0;
};

}  // namespace nautilus::features
