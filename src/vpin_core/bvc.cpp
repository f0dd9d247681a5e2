// Bulk volume classification: ΔP, σ and z = F(ΔP/σ) per bar.
#include "nautilus/vpin_core/bvc.hpp"

#include <boost/math/distributions/students_t.hpp>
#include <cmath>
#include <string>

namespace nautilus::vpin {
namespace {

// Double precision throughout (the default policy promotes to long double: x87, several times
// slower for no accuracy VPIN can use) and no exceptions: the inputs are checked finite first.
namespace bm = boost::math;
using Policy = bm::policies::policy<bm::policies::promote_double<false>,
                                    bm::policies::domain_error<bm::policies::ignore_error>,
                                    bm::policies::overflow_error<bm::policies::ignore_error>,
                                    bm::policies::evaluation_error<bm::policies::ignore_error>>;

std::unexpected<core::Error> invalid(std::string message) {
  return core::fail(core::ErrorCode::kInvalidArgument, std::move(message));
}

}  // namespace

// Φ(x) = erfc(−x/√2) / 2, Boost's formula for the normal CDF too, but through libm's erfc: within
// an ulp of Boost's and half the cost (9 ns against 19 here), which matters at one call a bar.
double normal_cdf(double x) noexcept { return 0.5 * std::erfc(-x * 0.70710678118654752440); }

double student_t_cdf(double x, double df) noexcept {
  return bm::cdf(bm::students_t_distribution<double, Policy>(df), x);
}

core::Result<void> BvcOptions::validate() const {
  switch (sigma.mode) {
    case SigmaMode::kSample:
      break;
    case SigmaMode::kRolling:
      if (sigma.window < 2) return invalid("sigma window must be >= 2 bars");
      if (sigma.window > kMaxLength) {
        return invalid("sigma window must be at most " + std::to_string(kMaxLength) + " bars");
      }
      break;
    case SigmaMode::kFixed:
      if (!(sigma.value >= 0) || !std::isfinite(sigma.value)) {
        return invalid("a fixed sigma must be finite and >= 0, not " + std::to_string(sigma.value));
      }
      break;
  }
  if (cdf == BarCdf::kStudentT && (!(df > 0) || !std::isfinite(df))) {
    return invalid("Student-t df must be finite and > 0, not " + std::to_string(df));
  }
  return {};
}

core::Result<BulkClassifier> BulkClassifier::create(const BvcOptions& options) {
  if (auto ok = options.validate(); !ok) return std::unexpected(ok.error());
  return BulkClassifier(options);
}

BulkClassifier::BulkClassifier(const BvcOptions& options) : options_(options), dp_(options.dp) {
  if (options.sigma.mode == SigmaMode::kRolling) ring_.assign(options.sigma.window, 0.0);
  if (options.sigma.mode == SigmaMode::kFixed) sigma_ = options.sigma.value;
}

void BulkClassifier::push_change(double dp) noexcept {
  if (ring_.empty()) {  // kSample: expanding
    moments_.add(dp);
    return;
  }
  const std::size_t w = ring_.size();
  if (moments_.count() == w) moments_.remove(ring_[ring_next_]);
  ring_[ring_next_] = dp;
  ring_next_ = ring_next_ + 1 == w ? 0 : ring_next_ + 1;
  moments_.add(dp);
  // Every w slides, the moments afresh from the ring: the drift of add/remove never builds up.
  if (moments_.count() == w && ++since_recompute_ == w) {
    since_recompute_ = 0;
    moments_.reset();
    for (std::size_t i = 0; i < w; ++i) moments_.add(ring_[(ring_next_ + i) % w]);
  }
}

double BulkClassifier::classify(double open, double close) noexcept {
  const double dp = price_change(open, close);
  prev_close_ = close;
  has_prev_ = true;
  if (options_.sigma.mode != SigmaMode::kFixed) {
    push_change(dp);
    sigma_ = moments_.stddev();
  }
  if (!(sigma_ > 0)) return 0.5;  // no σ yet, σ = 0 (flat prices) or NaN
  const double x = dp / sigma_;
  return options_.cdf == BarCdf::kNormal ? normal_cdf(x) : student_t_cdf(x, options_.df);
}

double whole_sample_sigma(std::span<const TimeBar> bars, PriceChange dp) noexcept {
  Moments m;
  double prev = 0;
  bool has_prev = false;
  for (const TimeBar& b : bars) {
    if (!(b.volume > 0) || !std::isfinite(b.open) || !std::isfinite(b.close)) continue;
    m.add(dp == PriceChange::kWithin || !has_prev ? b.close - b.open : b.close - prev);
    prev = b.close;
    has_prev = true;
  }
  return m.stddev();
}

}  // namespace nautilus::vpin
