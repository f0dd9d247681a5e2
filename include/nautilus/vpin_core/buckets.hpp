// The pieces of VPIN after classification, shared by the BVC and the enhanced calculators:
// volume buckets, the VPIN average over a window of buckets, the CDF of VPIN's own history,
// and the alert latch on that CDF.
//
//   auto buckets = *VolumeBucketer::create(/*bucket_volume=*/20'000);
//   auto window = *VpinWindow::create(50);
//   auto cdf = *VpinCdf::create({.history = 1000, .min_history = 50});
//   AlertLatch latch(0.9);
//   buckets.add(bar.volume, z, [&](const Bucket& b) {
//     double vpin = window.push(b.imbalance());
//     double c = cdf.push(vpin);
//     if (latch.update(c)) { /* toxic */ }
//   });
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "nautilus/core/error.hpp"
#include "nautilus/vpin_core/bvc.hpp"

namespace nautilus::vpin {

// A completed bucket: buy + sell = volume (up to rounding).
struct Bucket {
  double buy = 0;
  double sell = 0;
  double volume = 0;  // the bucket size V it was filled to
  // Order imbalance |V_S − V_B| / V, in [0, 1]: what VPIN averages.
  [[nodiscard]] double imbalance() const noexcept {
    return (buy > sell ? buy - sell : sell - buy) / volume;
  }
};

// Fills buckets of V in arrival order. Volume that overflows the current bucket goes on into
// the next, with the same buy fraction, so one add() may complete several buckets.
class VolumeBucketer {
 public:
  // bucket_volume > 0 and finite.
  [[nodiscard]] static core::Result<VolumeBucketer> create(double bucket_volume);

  // Adds `volume` (finite, >= 0) of which the share z (in [0, 1]) was bought; calls
  // on_bucket(const Bucket&) for each bucket this completes, in order.
  template <class OnBucket>
  void add(double volume, double z, OnBucket&& on_bucket) {
    const double zs = 1.0 - z;
    for (;;) {
      const double room = v_ - fill_;
      if (!(volume >= room)) {  // (so a NaN ends the loop too; callers pass finite volume)
        fill_ += volume;
        buy_ += volume * z;
        sell_ += volume * zs;
        return;
      }
      const Bucket done{buy_ + room * z, sell_ + room * zs, v_};
      volume -= room;
      next_bucket();
      on_bucket(done);
    }
  }

  // Whether `volume` fits in at most kMaxBucketsPerAdd buckets. Callers reject (and count) what
  // does not: no real bar or trade holds 2000 average days of volume, and one that claimed to
  // would keep the engine busy completing buckets for minutes.
  static constexpr double kMaxBucketsPerAdd = 100'000;
  [[nodiscard]] bool accepts(double volume) const noexcept {
    const double v = v_ < next_v_ ? v_ : next_v_;
    return volume <= (v_ - fill_) + v * kMaxBucketsPerAdd;
  }

  // The size of buckets from the next boundary on: the bucket being filled keeps its size (so
  // every bucket is filled to one V), unless it is still empty, when the change is immediate.
  // Ignored unless > 0 and finite.
  void set_bucket_volume(double v) noexcept;
  [[nodiscard]] double bucket_volume() const noexcept { return v_; }
  [[nodiscard]] double pending_bucket_volume() const noexcept { return next_v_; }
  [[nodiscard]] double fill() const noexcept { return fill_; }  // volume in the open bucket
  [[nodiscard]] double buy() const noexcept { return buy_; }
  [[nodiscard]] double sell() const noexcept { return sell_; }
  [[nodiscard]] std::uint64_t completed() const noexcept { return completed_; }

 private:
  explicit VolumeBucketer(double v) noexcept : v_(v), next_v_(v) {}
  void next_bucket() noexcept {
    fill_ = buy_ = sell_ = 0;
    v_ = next_v_;
    ++completed_;
  }

  double v_;
  double next_v_;
  double fill_ = 0;
  double buy_ = 0;
  double sell_ = 0;
  std::uint64_t completed_ = 0;
};

// VPIN over a window of n buckets: the mean of their order imbalances, which for buckets of one
// size V is Σ|V_S − V_B| / (n·V). NaN until n buckets have been pushed (warm-up). O(1) a push:
// a ring and a compensated running sum, re-summed from the ring every n pushes, so the rounding
// error stays that of one n-term sum however many buckets go by.
class VpinWindow {
 public:
  // n > 0.
  [[nodiscard]] static core::Result<VpinWindow> create(std::size_t n);

  double push(double imbalance) noexcept;
  [[nodiscard]] double value() const noexcept { return value_; }
  [[nodiscard]] std::size_t window() const noexcept { return ring_.size(); }
  [[nodiscard]] bool warm() const noexcept { return count_ >= ring_.size(); }

 private:
  explicit VpinWindow(std::size_t n) : ring_(n, 0.0) {}

  std::vector<double> ring_;
  std::size_t next_ = 0;
  std::size_t count_ = 0;  // pushes, up to n
  std::size_t since_resum_ = 0;
  double sum_ = 0;
  double comp_ = 0;  // Neumaier compensation of sum_
  double value_ = kNaN;
};

// How the CDF of VPIN's own distribution is estimated from its history.
enum class VpinCdfKind : std::uint8_t {
  kEmpirical,  // share of the history <= the current value
  kLognormal,  // Φ((ln v − μ)/s), μ and s the mean and sample std of ln(history)
};

struct CdfOptions {
  VpinCdfKind kind = VpinCdfKind::kEmpirical;
  // How many VPIN values (the current one included) the CDF is estimated from; 0 = all of
  // them. 1000 buckets is 20 sessions at 50 buckets a day: a month of context, forgetting
  // regimes long gone.
  std::size_t history = 1000;
  // The CDF is NaN until the history holds this many values: one session at 50 a day.
  std::size_t min_history = 50;
  double threshold = 0.9;  // the alert level, in (0, 1]

  // history == 0 or >= min_history, min_history >= 1, threshold in (0, 1].
  [[nodiscard]] core::Result<void> validate() const;
};

// The CDF of each new VPIN value against the history, that value included (so the newest value
// counts itself: a new maximum has CDF 1, and the CDF is never 0). NaN VPIN values (warm-up)
// are not history. kEmpirical keeps the history sorted: O(log h) to find a rank plus a move of
// about h/3 values to replace the oldest (~50 ns at h = 1000, once a bucket); with history 0
// (all), each insert moves about h/2 values and h grows without bound.
// kLognormal fits only the positive values (ln 0 is not defined; VPIN is exactly 0 only when
// every bucket of a window is balanced, e.g. flat prices), a value <= 0 has CDF 0, and the CDF is
// NaN while fewer than two values are positive or they are all equal.
class VpinCdf {
 public:
  [[nodiscard]] static core::Result<VpinCdf> create(const CdfOptions& options);

  double push(double vpin) noexcept;
  [[nodiscard]] double value() const noexcept { return value_; }
  [[nodiscard]] std::size_t count() const noexcept { return count_; }  // values in the history
  [[nodiscard]] const CdfOptions& options() const noexcept { return options_; }

 private:
  explicit VpinCdf(const CdfOptions& options);
  void evict(double v) noexcept;
  std::size_t replace_sorted(double old_v, double v) noexcept;  // kEmpirical, full: v's rank
  std::size_t add(double v) noexcept;  // kEmpirical: the rank of v (values <= v)
  void refit() noexcept;               // kLognormal: the moments afresh from the ring

  CdfOptions options_;
  std::vector<double> ring_;    // arrival order, when the history is bounded
  std::vector<double> sorted_;  // kEmpirical
  Moments log_moments_;         // kLognormal: of ln v over the positive values
  std::size_t next_ = 0;
  std::size_t count_ = 0;
  std::size_t since_refit_ = 0;
  double value_ = kNaN;
};

// True once each time the CDF crosses the threshold upwards: the previous available CDF was
// below it and this one is at or above. It re-arms when the CDF falls back below. The first CDF
// is not a crossing (there is nothing before it): an engine that starts in a toxic market sees
// that from the CDF itself. NaN changes nothing.
class AlertLatch {
 public:
  explicit AlertLatch(double threshold) noexcept : threshold_(threshold) {}
  bool update(double cdf) noexcept {
    if (cdf < threshold_) {
      armed_ = true;
      return false;
    }
    if (!(cdf >= threshold_) || !armed_) return false;  // NaN, or no fall since the last alert
    armed_ = false;
    return true;
  }
  [[nodiscard]] bool armed() const noexcept { return armed_; }
  [[nodiscard]] double threshold() const noexcept { return threshold_; }

 private:
  double threshold_;
  bool armed_ = false;
};

// The last `capacity` results of a calculator, for REST: a ring allocated once. push() returns
// the stored copy (with capacity 0 a single scratch slot, so callers can always use it).
template <class T>
class ResultRing {
 public:
  explicit ResultRing(std::size_t capacity) : capacity_(capacity) { ring_.reserve(capacity); }

  const T& push(const T& r) {
    if (capacity_ == 0) return scratch_ = r;
    if (ring_.size() < capacity_) {
      ring_.push_back(r);  // reserved: no allocation
      return ring_.back();
    }
    T& slot = ring_[next_];
    slot = r;
    next_ = next_ + 1 == capacity_ ? 0 : next_ + 1;
    return slot;
  }
  // The last min(max, size) results, oldest first.
  [[nodiscard]] std::vector<T> last(std::size_t max) const {
    const std::size_t size = ring_.size();
    const std::size_t n = max < size ? max : size;
    std::vector<T> out;
    out.reserve(n);
    // next_ is the oldest slot once the ring is full, and 0 (also the oldest) before.
    for (std::size_t i = size - n; i < size; ++i) out.push_back(ring_[(next_ + i) % size]);
    return out;
  }
  [[nodiscard]] std::size_t size() const noexcept { return ring_.size(); }

 private:
  std::size_t capacity_;
  std::vector<T> ring_;
  std::size_t next_ = 0;
  T scratch_{};
};

}  // namespace nautilus::vpin
