// BVC-VPIN (Easley, López de Prado & O'Hara 2012, "Flow toxicity and liquidity in a
// high-frequency world"), per symbol: time bars in, one result per completed volume bucket out.
// Each bar's volume is split into buy and sell by bulk classification (bvc.hpp), buckets of V
// are filled in time order (a bar may complete several), and VPIN is the mean order imbalance
// |V_S − V_B| / V of the last n buckets. Its CDF against its own history raises the alert.
//
//   auto calc = *VpinCalculator::create({.bucket_volume = 20'000, .window = 50});
//   std::vector<BucketResult> out;            // reserve once; appended to, never reallocated
//   calc.on_bar(bar, out);                    // or with a callback, inlined:
//   calc.on_bar(bar, [&](const BucketResult& r) { if (r.alert) publish_alert(r); });
//   calc.vpin(); calc.cdf(); calc.bucket_fill(); calc.recent(100);   // for REST
//
// To reproduce the paper on a file (σ and V of the whole sample):
//   auto V = *file_bucket_volume(total_volume, distinct_utc_dates(bars), 50);
//   auto calc = *VpinCalculator::create(
//       {.bucket_volume = V, .bvc = {.sigma = SigmaOptions::fixed(
//                                         whole_sample_sigma(bars, PriceChange::kClose))}});
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "nautilus/core/error.hpp"
#include "nautilus/vpin_core/buckets.hpp"
#include "nautilus/vpin_core/bvc.hpp"
#include "nautilus/vpin_core/time_bars.hpp"

namespace nautilus::vpin {

struct VpinOptions {
  double bucket_volume = 0;  // V, > 0: ADV / 50 in the paper (file_bucket_volume, DailyVolume)
  std::size_t window = 50;   // n buckets in the VPIN average, the paper's 50
  BvcOptions bvc{};          // ΔP, σ and F of the bar classification
  CdfOptions toxicity{};     // VPIN's CDF and the alert threshold
  std::size_t result_history = 250;  // results kept for recent() (5 sessions at 50 a day)

  [[nodiscard]] core::Result<void> validate() const;
};

struct BucketResult {
  std::uint64_t index = 0;   // from 0, per symbol
  UnixNanos ts = 0;          // ts_close of the bar that completed the bucket
  double buy = 0;            // V_B
  double sell = 0;           // V_S
  double bucket_volume = 0;  // V the bucket was filled to
  double vpin = kNaN;        // NaN until `window` buckets exist
  double cdf = kNaN;         // NaN until the CDF has min_history values
  bool alert = false;        // the CDF crossed the threshold upwards with this bucket
};

class VpinCalculator {
 public:
  [[nodiscard]] static core::Result<VpinCalculator> create(const VpinOptions& options);

  // One bar. A bar with zero volume changes nothing at all (not σ, not the previous close); so
  // does one with a non-finite price, a negative or non-finite volume, or a volume of more than
  // VolumeBucketer::kMaxBucketsPerAdd buckets, which is also counted in rejected_bars().
  // on_bucket(const BucketResult&) runs for each completed bucket, in order.
  template <class OnBucket>
  void on_bar(const TimeBar& bar, OnBucket&& on_bucket) {
    if (!accept(bar)) return;
    const double z = bvc_.classify(bar.open, bar.close);
    buckets_.add(bar.volume, z, [&](const Bucket& b) { on_bucket(complete(b, bar.ts_close)); });
  }
  // Appends each completed bucket to `out`.
  void on_bar(const TimeBar& bar, std::vector<BucketResult>& out) {
    on_bar(bar, [&out](const BucketResult& r) { out.push_back(r); });
  }

  // A new V from the next bucket boundary on (VolumeBucketer::set_bucket_volume).
  void set_bucket_volume(double v) noexcept { buckets_.set_bucket_volume(v); }

  // State, for a REST answer.
  [[nodiscard]] double vpin() const noexcept { return window_.value(); }
  [[nodiscard]] double cdf() const noexcept { return cdf_.value(); }
  [[nodiscard]] std::uint64_t buckets() const noexcept { return buckets_.completed(); }
  [[nodiscard]] double bucket_volume() const noexcept { return buckets_.bucket_volume(); }
  [[nodiscard]] double bucket_fill() const noexcept { return buckets_.fill(); }  // of V
  [[nodiscard]] double sigma() const noexcept { return bvc_.sigma(); }
  [[nodiscard]] std::uint64_t rejected_bars() const noexcept { return rejected_; }
  // The last min(max, result_history) results, oldest first.
  [[nodiscard]] std::vector<BucketResult> recent(std::size_t max = SIZE_MAX) const {
    return history_.last(max);
  }
  [[nodiscard]] const VpinOptions& options() const noexcept { return options_; }

 private:
  VpinCalculator(const VpinOptions& options, BulkClassifier bvc, VolumeBucketer buckets,
                 VpinWindow window, VpinCdf cdf);
  [[nodiscard]] bool accept(const TimeBar& bar) noexcept {
    if (bar.volume > 0 && bar.volume < kInf && std::isfinite(bar.open) &&
        std::isfinite(bar.close) && buckets_.accepts(bar.volume)) {
      return true;
    }
    if (bar.volume != 0) ++rejected_;
    return false;
  }
  // The bucket's VPIN, CDF and alert; recorded in the history.
  const BucketResult& complete(const Bucket& b, UnixNanos ts) noexcept;

  static constexpr double kInf = std::numeric_limits<double>::infinity();
  VpinOptions options_;
  BulkClassifier bvc_;
  VolumeBucketer buckets_;
  VpinWindow window_;
  VpinCdf cdf_;
  AlertLatch latch_;
  ResultRing<BucketResult> history_;
  std::uint64_t rejected_ = 0;
};

}  // namespace nautilus::vpin
