// Volume buckets, the VPIN window, VPIN's CDF.
#include "nautilus/vpin_core/buckets.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

namespace nautilus::vpin {
namespace {

std::unexpected<core::Error> invalid(std::string message) {
  return core::fail(core::ErrorCode::kInvalidArgument, std::move(message));
}

// Neumaier's compensated addition: sum + comp carries the rounding error of each step.
void neumaier_add(double& sum, double& comp, double x) noexcept {
  const double t = sum + x;
  comp += std::fabs(sum) >= std::fabs(x) ? (sum - t) + x : (x - t) + sum;
  sum = t;
}

// The first index in sorted a[0, n) whose value is > v (kUpper) or >= v: a binary search whose
// steps are conditional moves, not branches (a history's ranks are unpredictable, and each
// mispredicted step costs more than the comparison).
template <bool kUpper>
std::size_t bound(const double* a, std::size_t n, double v) noexcept {
  if (n == 0) return 0;
  const double* base = a;
  while (n > 1) {
    const std::size_t half = n / 2;
    base += (kUpper ? base[half] <= v : base[half] < v) ? half : 0;
    n -= half;
  }
  return static_cast<std::size_t>(base - a) + (kUpper ? *base <= v : *base < v);
}

// bound<false>(a, n, lo) and bound<true>(a, n, hi) in one loop: the two chains of dependent
// loads overlap, so the pair costs about what one search does.
std::pair<std::size_t, std::size_t> bounds(const double* a, std::size_t n, double lo,
                                           double hi) noexcept {
  if (n == 0) return {0, 0};
  const double* b1 = a;
  const double* b2 = a;
  while (n > 1) {
    const std::size_t half = n / 2;
    b1 += b1[half] < lo ? half : 0;
    b2 += b2[half] <= hi ? half : 0;
    n -= half;
  }
  return {static_cast<std::size_t>(b1 - a) + (*b1 < lo),
          static_cast<std::size_t>(b2 - a) + (*b2 <= hi)};
}

}  // namespace

core::Result<VolumeBucketer> VolumeBucketer::create(double bucket_volume) {
  if (!(bucket_volume > 0) || !std::isfinite(bucket_volume)) {
    return invalid("bucket_volume must be > 0 and finite, not " + std::to_string(bucket_volume));
  }
  return VolumeBucketer(bucket_volume);
}

void VolumeBucketer::set_bucket_volume(double v) noexcept {
  if (!(v > 0) || !std::isfinite(v)) return;
  next_v_ = v;
  if (fill_ == 0) v_ = v;
}

core::Result<VpinWindow> VpinWindow::create(std::size_t n) {
  if (n == 0) return invalid("the VPIN window must be > 0 buckets");
  if (n > kMaxLength) {
    return invalid("the VPIN window must be at most " + std::to_string(kMaxLength) + " buckets");
  }
  return VpinWindow(n);
}

double VpinWindow::push(double imbalance) noexcept {
  const std::size_t n = ring_.size();
  if (count_ == n) neumaier_add(sum_, comp_, -ring_[next_]);
  ring_[next_] = imbalance;
  next_ = next_ + 1 == n ? 0 : next_ + 1;
  neumaier_add(sum_, comp_, imbalance);
  if (count_ < n) ++count_;
  if (count_ < n) return value_ = kNaN;
  // Every n pushes the sum afresh from the ring: O(1) amortised, and the error can never be
  // more than that of summing n terms, however many buckets have gone by.
  if (++since_resum_ == n) {
    since_resum_ = 0;
    sum_ = comp_ = 0;
    for (double x : ring_) neumaier_add(sum_, comp_, x);
  }
  return value_ = (sum_ + comp_) / static_cast<double>(n);
}

core::Result<void> CdfOptions::validate() const {
  if (min_history == 0) return invalid("min_history must be >= 1");
  // Each symbol keeps the history: bounded so that a typo cannot ask for terabytes.
  if (history > kMaxLength || min_history > kMaxLength) {
    return invalid("the CDF history and min_history must be at most " + std::to_string(kMaxLength));
  }
  if (history != 0 && history < min_history) {
    return invalid("the CDF history (" + std::to_string(history) +
                   ") must be 0 (all) or >= min_history (" + std::to_string(min_history) + ")");
  }
  if (!(threshold > 0 && threshold <= 1)) {
    return invalid("the alert threshold must be in (0, 1], not " + std::to_string(threshold));
  }
  return {};
}

core::Result<VpinCdf> VpinCdf::create(const CdfOptions& options) {
  if (auto ok = options.validate(); !ok) return std::unexpected(ok.error());
  return VpinCdf(options);
}

VpinCdf::VpinCdf(const CdfOptions& options) : options_(options) {
  if (options.history != 0) {
    ring_.assign(options.history, 0.0);
    if (options.kind == VpinCdfKind::kEmpirical) sorted_.reserve(options.history);
  }
}

void VpinCdf::evict(double v) noexcept {
  if (options_.kind == VpinCdfKind::kEmpirical) {
    sorted_.erase(sorted_.begin() +
                  static_cast<std::ptrdiff_t>(bound<false>(sorted_.data(), sorted_.size(), v)));
  } else if (v > 0) {
    log_moments_.remove(std::log(v));
  }
}

std::size_t VpinCdf::add(double v) noexcept {
  if (options_.kind == VpinCdfKind::kEmpirical) {
    const std::size_t pos = bound<true>(sorted_.data(), sorted_.size(), v);
    sorted_.insert(sorted_.begin() + static_cast<std::ptrdiff_t>(pos), v);
    return pos + 1;  // v is the last of the values <= v
  }
  if (v > 0) log_moments_.add(std::log(v));
  return 0;
}

std::size_t VpinCdf::replace_sorted(double old_v, double v) noexcept {
  // One shift of the values between the two positions, not an erase and an insert that each
  // move the whole tail: a third of the history on average instead of all of it. Both places
  // are searched in the array as it is: `pos` is one past where v goes among the others.
  double* a = sorted_.data();
  const auto [old_pos, pos] = bounds(a, sorted_.size(), old_v, v);
  if (v >= old_v) {  // old_v sits before pos
    std::move(a + old_pos + 1, a + pos, a + old_pos);
    a[pos - 1] = v;
    return pos;  // everything before v is <= v, everything after it > v
  }
  std::move_backward(a + pos, a + old_pos, a + old_pos + 1);  // here pos <= old_pos
  a[pos] = v;
  return pos + 1;
}

void VpinCdf::refit() noexcept {
  log_moments_.reset();
  for (double v : ring_) {
    if (v > 0) log_moments_.add(std::log(v));
  }
}

double VpinCdf::push(double vpin) noexcept {
  if (std::isnan(vpin)) return value_ = kNaN;
  const std::size_t h = ring_.size();
  std::size_t rank = 0;  // kEmpirical: how many values of the history are <= vpin
  if (h != 0 && count_ == h && options_.kind == VpinCdfKind::kEmpirical) {
    rank = replace_sorted(ring_[next_], vpin);
    ring_[next_] = vpin;
    next_ = next_ + 1 == h ? 0 : next_ + 1;
  } else {
    if (h != 0) {
      if (count_ == h) evict(ring_[next_]);
      ring_[next_] = vpin;
      next_ = next_ + 1 == h ? 0 : next_ + 1;
    }
    rank = add(vpin);
  }
  if (h == 0 || count_ < h) ++count_;
  if (options_.kind == VpinCdfKind::kLognormal && count_ == h && ++since_refit_ == h) {
    since_refit_ = 0;  // bounded history: the moments afresh every h values, as VpinWindow
    refit();
  }
  if (count_ < options_.min_history) return value_ = kNaN;
  if (options_.kind == VpinCdfKind::kEmpirical) {
    return value_ = static_cast<double>(rank) / static_cast<double>(sorted_.size());
  }
  const double s = log_moments_.stddev();
  if (!(s > 0)) return value_ = kNaN;  // fewer than two positive values, or all equal
  if (vpin <= 0) return value_ = 0;
  return value_ = normal_cdf((std::log(vpin) - log_moments_.mean()) / s);
}

}  // namespace nautilus::vpin
