#include "nautilus/core/rate_limiter.hpp"

#include <algorithm>
#include <cmath>
#include <thread>

namespace nautilus::core {
namespace {

// Bounds that keep the credit arithmetic inside int64 (credit + earned <= 2 * capacity): a
// token costs at most ~30 years of clock time, and the bucket holds at most ~120 years.
constexpr double kMaxCostNs = 1e18;
constexpr double kMaxCapacityNs = 4e18;

std::int64_t cost_of(double per_minute) {
  const double ns = 60e9 / per_minute;
  if (!(per_minute > 0) || !(ns < kMaxCostNs)) return static_cast<std::int64_t>(kMaxCostNs);
  return std::max<std::int64_t>(1, std::llround(ns));
}

std::int64_t capacity_of(std::int64_t cost_ns, double burst) {
  // std::max(1.0, NaN) is 1.0, so a NaN burst also means one token.
  const double ns = static_cast<double>(cost_ns) * std::max(1.0, burst);
  return ns < kMaxCapacityNs ? std::max(cost_ns, static_cast<std::int64_t>(ns))
                             : static_cast<std::int64_t>(kMaxCapacityNs);
}

}  // namespace

RateLimiter::RateLimiter(const Clock& clock, double per_minute, double burst)
    : clock_(&clock),
      cost_ns_(cost_of(per_minute)),
      capacity_ns_(capacity_of(cost_ns_, burst)),
      credit_ns_(capacity_ns_),
      last_(clock.now()) {}

std::int64_t RateLimiter::credit_at(UnixNanos now) const noexcept {
  // A realtime clock stepped backwards earns nothing for the step.
  if (now <= last_) return credit_ns_;
  const std::int64_t earned = std::min<std::int64_t>(now - last_, capacity_ns_);
  return std::min(capacity_ns_, credit_ns_ + earned);
}

std::int64_t RateLimiter::take(UnixNanos now) noexcept {
  credit_ns_ = credit_at(now);
  // After a backward step last_ follows the clock back, so the limiter earns again from the
  // next reading instead of freezing until the clock passes the old one. The time re-lived is
  // earned twice, at most one bucket: the price of never freezing.
  last_ = now;
  if (credit_ns_ >= cost_ns_) {
    credit_ns_ -= cost_ns_;
    return 0;
  }
  return cost_ns_ - credit_ns_;
}

bool RateLimiter::try_acquire() {
  std::lock_guard lock(mu_);
  if (take(clock_->now()) == 0) return true;
  ++throttled_;
  return false;
}

bool RateLimiter::acquire(std::chrono::nanoseconds max_wait) {
  std::unique_lock lock(mu_);
  const UnixNanos start = clock_->now();
  const std::int64_t budget = std::max<std::int64_t>(0, max_wait.count());
  UnixNanos now = start;
  while (true) {
    const std::int64_t need = take(now);
    if (need == 0) return true;
    // Elapsed time rather than a deadline, so a wait of nanoseconds::max() cannot overflow.
    if (need > budget - std::max<std::int64_t>(0, now - start)) {
      ++throttled_;
      return false;
    }
    lock.unlock();
    std::this_thread::sleep_for(std::chrono::nanoseconds(need));
    lock.lock();
    const UnixNanos later = clock_->now();
    if (later <= now) {  // the clock stood still: waiting more would never end
      ++throttled_;
      return false;
    }
    now = later;
  }
}

std::chrono::nanoseconds RateLimiter::time_to_token() const {
  std::lock_guard lock(mu_);
  const std::int64_t credit = credit_at(clock_->now());
  return std::chrono::nanoseconds(credit >= cost_ns_ ? 0 : cost_ns_ - credit);
}

std::uint64_t RateLimiter::throttled() const {
  std::lock_guard lock(mu_);
  return throttled_;
}

}  // namespace nautilus::core
