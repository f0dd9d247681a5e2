// RateLimiter: a token bucket that reads time from the injected clock, so one throttle serves a
// live source and a backtest alike. It earns `per_minute` tokens a minute, saves up to `burst`
// of them, and starts full.
//
//   RateLimiter limiter(ctx.clock(), /*per_minute=*/600, /*burst=*/50);
//   if (!limiter.try_acquire()) return deny("rate limit");        // never blocks
//   if (!limiter.acquire(std::chrono::seconds(5))) { ... }         // may sleep for a token
//   auto retry_in = limiter.time_to_token();                        // for a timer instead
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>

#include "nautilus/core/clock.hpp"

namespace nautilus::core {

class RateLimiter {
 public:
  // Wants per_minute > 0 and burst >= 1; a burst below one token could never grant, so it is
  // raised to one. The clock must outlive the limiter.
  RateLimiter(const Clock& clock, double per_minute, double burst);

  // Takes a token if one is saved now; a refusal counts as throttled.
  [[nodiscard]] bool try_acquire();
  // Takes a token, sleeping (wall time) until it is earned if that is within `max_wait` of the
  // clock; false, counted as throttled, when it is not. A clock that stands still while this
  // sleeps (a SimulatedClock nobody advances) would never earn one, so it gives up after one
  // sleep: code on a simulated clock calls try_acquire() and time_to_token().
  [[nodiscard]] bool acquire(std::chrono::nanoseconds max_wait);
  // How long until a token is saved, on the clock; zero when one is available now.
  [[nodiscard]] std::chrono::nanoseconds time_to_token() const;
  [[nodiscard]] std::uint64_t throttled() const;

 private:
  // Tokens are kept as the clock time that earned them (one token = cost_ns_), in integers, so
  // that a simulated clock gives exact, repeatable answers (no drift from summing doubles).
  [[nodiscard]] std::int64_t credit_at(UnixNanos now) const noexcept;
  // Refills to `now` and takes a token: 0 when taken, else the nanoseconds still to earn.
  [[nodiscard]] std::int64_t take(UnixNanos now) noexcept;

  const Clock* clock_;
  std::int64_t cost_ns_;
  std::int64_t capacity_ns_;  // burst * cost_ns_
  mutable std::mutex mu_;
  std::int64_t credit_ns_;
  UnixNanos last_;
  std::uint64_t throttled_ = 0;
};

}  // namespace nautilus::core
