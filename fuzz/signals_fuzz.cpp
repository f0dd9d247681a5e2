// libFuzzer target for the signal engines' algorithms and their text inputs: arbitrary bytes
// become a per-symbol period override (the features engine's `symbol_periods`) and streams of
// bars and trades whose prices, volumes and times may be anything a double or an integer can
// hold (NaN, infinities, negative, huge, out of order). Property: nothing crashes or trips the
// sanitizers, VPIN stays in [0, 1] or NaN, and while every price and volume is within a real
// market's range every feature value is finite or NaN.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "nautilus/engines/enhanced_vpin/enhanced_vpin.hpp"
#include "nautilus/engines/features/feature_set.hpp"
#include "nautilus/engines/vpin/vpin.hpp"

namespace {

// Whether every bar so far was within a real market's range (a window remembers the others).
bool sane_ = true;

class Bytes {
 public:
  Bytes(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  [[nodiscard]] bool empty() const { return at_ >= size_; }
  template <class T>
  T take() {
    T v{};
    const std::size_t n = std::min(sizeof(T), size_ - std::min(at_, size_));
    if (n > 0) std::memcpy(&v, data_ + at_, n);
    at_ += sizeof(T);
    return v;
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t at_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace nautilus;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto o = features::parse_period_override(text)) {
    features::FeaturePeriods p;
    if (!features::set_period(p, o->name, o->value)) std::abort();  // it parsed, so it applies
  }

  Bytes in(data, size);
  // Small periods, so that short inputs get past the warm-ups.
  features::FeaturePeriods periods{.sma = 2 + in.take<std::uint8_t>() % 8,
                                   .ema = 3,
                                   .rsi = 2 + in.take<std::uint8_t>() % 8,
                                   .macd_fast = 2,
                                   .macd_slow = 4,
                                   .macd_signal = 2,
                                   .bb = 3,
                                   .atr = 2,
                                   .rv = 3};
  features::FeatureSet set(periods);
  sane_ = true;
  auto calc = vpin::VpinCalculator::create(
      {.bucket_volume = 100, .window = 3, .toxicity = {.history = 16, .min_history = 2}});
  auto ev = enhanced_vpin::EnhancedVpin::create({.initial_bucket_volume = 100,
                                                 .windows = {2, 5},
                                                 .primary_window = 5,
                                                 .toxicity = {.history = 16, .min_history = 2}});
  if (!calc || !ev) std::abort();
  while (!in.empty()) {
    const double open = in.take<double>(), close = in.take<double>(), volume = in.take<double>();
    const auto ts = in.take<std::int64_t>();
    set.update({.open = open,
                .high = std::fmax(open, close),
                .low = std::fmin(open, close),
                .close = close,
                .volume = volume,
                .session = ts / 86'400'000'000'000});
    // Prices and volumes of a real market (here 1e-6 to 1e9) give finite features or NaN;
    // outside that (1e-300 against 1e100) a log return may rightly underflow to -inf.
    const auto sane = [](double x, double lo) { return x >= lo && x <= 1e9; };
    sane_ = sane_ && sane(open, 1e-6) && sane(close, 1e-6) && sane(volume, 0);
    for (const double v : set.values()) {
      if (sane_ && std::isinf(v)) std::abort();
    }
    calc->on_bar({.open = open, .close = close, .volume = volume, .ts_close = ts},
                 [](const vpin::BucketResult& r) {
                   if (!std::isnan(r.vpin) && (r.vpin < -1e-12 || r.vpin > 1 + 1e-12)) std::abort();
                 });
    const auto side = static_cast<model::AggressorSide>(in.take<std::uint8_t>() % 3);
    ev->on_quote(open, close, ts);
    ev->on_trade(close, volume, side, ts, [](const enhanced_vpin::EnhancedResult& r) {
      if (!std::isnan(r.primary_vpin) && (r.primary_vpin < -1e-12 || r.primary_vpin > 1 + 1e-12)) {
        std::abort();
      }
    });
  }
  return 0;
}
