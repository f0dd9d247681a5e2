// Bulk volume classification (BVC, Easley, López de Prado & O'Hara 2012): the share of a bar's
// volume bought, z = F(ΔP / σ_ΔP), from the bar's price change ΔP alone, where F is the standard
// normal CDF or a Student-t CDF and σ_ΔP the standard deviation of price changes.
//
//   auto bvc = *BulkClassifier::create({.dp = PriceChange::kClose,
//                                       .sigma = SigmaOptions::rolling(1950),
//                                       .cdf = BarCdf::kStudentT, .df = 0.25});
//   double z = bvc.classify(bar.open, bar.close);   // buy volume = z * bar.volume
//
// To reproduce the paper on a file, σ is that of the whole file's price changes:
//   double s = whole_sample_sigma(bars, PriceChange::kClose);
//   auto bvc = *BulkClassifier::create({.sigma = SigmaOptions::fixed(s)});
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "nautilus/core/error.hpp"
#include "nautilus/vpin_core/time_bars.hpp"

namespace nautilus::vpin {

inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
// The longest window, history or σ ring an option may ask for (each symbol allocates one):
// 10 million values, 80 MB, far beyond any use, and refused beyond so that a typo cannot ask
// for terabytes.
inline constexpr std::size_t kMaxLength = 10'000'000;

// What a bar's price change is. kClose is the paper's (P_i − P_{i−1}, closes of consecutive
// bars); the first bar of a symbol has no previous close and uses its own close − open.
// kWithin is close − open of the bar itself, which ignores the gaps between bars.
enum class PriceChange : std::uint8_t { kClose, kWithin };

enum class SigmaMode : std::uint8_t {
  kSample,   // sample std (ddof 1) of every ΔP so far, this bar's included (no look-ahead)
  kRolling,  // the same over the last `window` ΔPs (all of them while fewer)
  kFixed,    // a given value: the whole file's σ reproduces the paper exactly
};

struct SigmaOptions {
  SigmaMode mode = SigmaMode::kSample;
  // kRolling's length in bars. 1950 = five sessions of 390 one-minute bars: long enough that σ
  // is stable, short enough to follow a change of volatility regime within a week.
  std::size_t window = 1950;
  double value = kNaN;  // kFixed's σ

  [[nodiscard]] static SigmaOptions sample() noexcept { return {}; }
  [[nodiscard]] static SigmaOptions rolling(std::size_t bars) noexcept {
    return {.mode = SigmaMode::kRolling, .window = bars};
  }
  [[nodiscard]] static SigmaOptions fixed(double sigma) noexcept {
    return {.mode = SigmaMode::kFixed, .value = sigma};
  }
};

// The CDF F of z = F(ΔP/σ). kStudentT with df = 0.25 is ELO's later choice: heavy tails, so a
// large price move classifies nearly all of a bar one way only when it is very large.
enum class BarCdf : std::uint8_t { kNormal, kStudentT };

struct BvcOptions {
  PriceChange dp = PriceChange::kClose;
  SigmaOptions sigma{};
  BarCdf cdf = BarCdf::kNormal;
  double df = 0.25;  // kStudentT's degrees of freedom

  // kRolling needs window >= 2, kFixed a finite value >= 0 (0 classifies every bar 50/50),
  // kStudentT a finite df > 0.
  [[nodiscard]] core::Result<void> validate() const;
};

// Φ(x) (libm's erfc) and the Student-t CDF (Boost.Math, in double precision, no exceptions).
[[nodiscard]] double normal_cdf(double x) noexcept;
[[nodiscard]] double student_t_cdf(double x, double df) noexcept;

// Count, mean and M2 (Welford) of a set of values that grows and shrinks: add() and remove()
// are the exact inverses of each other up to rounding. Whoever keeps a sliding window calls
// reset() and re-adds its values every so often, which bounds the rounding drift.
class Moments {
 public:
  void add(double x) noexcept {
    ++n_;
    const double d = x - mean_;
    mean_ += d / static_cast<double>(n_);
    m2_ += d * (x - mean_);
  }
  void remove(double x) noexcept {
    if (n_ <= 1) {
      reset();
      return;
    }
    const double d = x - mean_;
    --n_;
    mean_ -= d / static_cast<double>(n_);
    m2_ -= d * (x - mean_);
    if (m2_ < 0) m2_ = 0;  // rounding, never a real negative
  }
  void reset() noexcept { *this = Moments{}; }
  [[nodiscard]] std::size_t count() const noexcept { return n_; }
  [[nodiscard]] double mean() const noexcept { return n_ > 0 ? mean_ : kNaN; }
  // Sample variance (ddof 1); NaN with fewer than two values.
  [[nodiscard]] double variance() const noexcept {
    return n_ > 1 ? m2_ / static_cast<double>(n_ - 1) : kNaN;
  }
  [[nodiscard]] double stddev() const noexcept { return std::sqrt(variance()); }

 private:
  std::size_t n_ = 0;
  double mean_ = 0;
  double m2_ = 0;
};

// z per bar, keeping σ and the previous close between bars. Callers pass only bars that carry
// volume (a bar without volume has no volume to split and must not move σ either).
class BulkClassifier {
 public:
  [[nodiscard]] static core::Result<BulkClassifier> create(const BvcOptions& options);

  // The buy fraction of a bar in [0, 1]. While σ is not known (fewer than two ΔPs so far for
  // kSample/kRolling) or is 0 or NaN, z = 0.5: nothing tells the two sides apart.
  [[nodiscard]] double classify(double open, double close) noexcept;
  // The price change classify() would see for this bar, without changing any state.
  [[nodiscard]] double price_change(double open, double close) const noexcept {
    return dp_ == PriceChange::kWithin || !has_prev_ ? close - open : close - prev_close_;
  }
  // The σ the last classify() used (NaN when it had none).
  [[nodiscard]] double sigma() const noexcept { return sigma_; }
  [[nodiscard]] const BvcOptions& options() const noexcept { return options_; }

 private:
  explicit BulkClassifier(const BvcOptions& options);
  void push_change(double dp) noexcept;

  BvcOptions options_;
  PriceChange dp_;
  double prev_close_ = 0;
  bool has_prev_ = false;
  double sigma_ = kNaN;
  Moments moments_;
  std::vector<double> ring_;  // kRolling: the last `window` ΔPs
  std::size_t ring_next_ = 0;
  std::size_t since_recompute_ = 0;
};

// The sample std (ddof 1) of the ΔPs of all bars with volume, as BulkClassifier would see them
// one by one: the σ for SigmaOptions::fixed() that reproduces the paper's whole-sample σ. NaN
// for fewer than two such bars.
[[nodiscard]] double whole_sample_sigma(std::span<const TimeBar> bars, PriceChange dp) noexcept;

}  // namespace nautilus::vpin
