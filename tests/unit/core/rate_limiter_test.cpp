// The token bucket on a simulated clock: exact rate and burst with no sleeping, then the one
// blocking path on the realtime clock.
#include "nautilus/core/rate_limiter.hpp"

#include <gtest/gtest.h>

#include <chrono>

namespace nautilus::core {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::seconds;

constexpr UnixNanos kStart = 1'700'000'000'000'000'000;

TEST(RateLimiter, StartsFullAndGrantsTheBurstAtOnce) {
  SimulatedClock clock(kStart);
  RateLimiter limiter(clock, /*per_minute=*/60, /*burst=*/3);
  EXPECT_TRUE(limiter.try_acquire());
  EXPECT_TRUE(limiter.try_acquire());
  EXPECT_TRUE(limiter.try_acquire());
  EXPECT_FALSE(limiter.try_acquire());
  EXPECT_EQ(limiter.throttled(), 1U);
  EXPECT_EQ(limiter.time_to_token(), seconds(1));
}

TEST(RateLimiter, EarnsOneTokenPerIntervalExactly) {
  SimulatedClock clock(kStart);
  RateLimiter limiter(clock, /*per_minute=*/60, /*burst=*/1);
  ASSERT_TRUE(limiter.try_acquire());
  clock.advance(milliseconds(999));
  EXPECT_FALSE(limiter.try_acquire());
  EXPECT_EQ(limiter.time_to_token(), milliseconds(1));
  clock.advance(milliseconds(1));
  EXPECT_EQ(limiter.time_to_token(), nanoseconds(0));
  EXPECT_TRUE(limiter.try_acquire());
  EXPECT_FALSE(limiter.try_acquire());
}

TEST(RateLimiter, SustainedRateIsPerMinuteWhateverThePolling) {
  // 5 a minute: one per 12 s, however often it is asked.
  SimulatedClock clock(kStart);
  RateLimiter limiter(clock, /*per_minute=*/5, /*burst=*/1);
  int granted = 0;
  for (int ms = 0; ms < 10 * 60 * 1000; ms += 250) {  // ten minutes, polled every 250 ms
    granted += limiter.try_acquire() ? 1 : 0;
    clock.advance(milliseconds(250));
  }
  EXPECT_EQ(granted, 50);  // the initial token, then one per 12 s: 0, 12, ..., 588 s
}

TEST(RateLimiter, IdleTimeSavesAtMostTheBurst) {
  SimulatedClock clock(kStart);
  RateLimiter limiter(clock, /*per_minute=*/600, /*burst=*/2.5);
  while (limiter.try_acquire()) {
  }
  clock.advance(std::chrono::hours(1));  // would be 6000 tokens without the cap
  EXPECT_TRUE(limiter.try_acquire());
  EXPECT_TRUE(limiter.try_acquire());
  EXPECT_FALSE(limiter.try_acquire());  // half a token is left
  EXPECT_EQ(limiter.time_to_token(), milliseconds(50));
}

TEST(RateLimiter, BurstBelowOneTokenStillGrants) {
  SimulatedClock clock(kStart);
  RateLimiter limiter(clock, /*per_minute=*/60, /*burst=*/0.25);
  EXPECT_TRUE(limiter.try_acquire());
  EXPECT_FALSE(limiter.try_acquire());
  clock.advance(seconds(1));
  EXPECT_TRUE(limiter.try_acquire());
}

TEST(RateLimiter, AcquireRefusesWhenTheTokenIsBeyondTheWait) {
  SimulatedClock clock(kStart);
  RateLimiter limiter(clock, /*per_minute=*/60, /*burst=*/2);
  EXPECT_TRUE(limiter.acquire(milliseconds(0)));
  EXPECT_TRUE(limiter.acquire(milliseconds(0)));
  EXPECT_FALSE(limiter.acquire(milliseconds(10)));  // the next token is 1 s away: no sleep
  EXPECT_FALSE(limiter.acquire(milliseconds(999)));
  EXPECT_EQ(limiter.throttled(), 2U);
}

TEST(RateLimiter, AcquireGivesUpOnAClockThatStandsStill) {
  // A token 1 ms away on a simulated clock nobody advances: one 1 ms sleep, then a refusal
  // (not a wait for ever).
  SimulatedClock clock(kStart);
  RateLimiter limiter(clock, /*per_minute=*/60'000, /*burst=*/1);
  ASSERT_TRUE(limiter.try_acquire());
  EXPECT_FALSE(limiter.acquire(nanoseconds::max()));
  EXPECT_EQ(limiter.throttled(), 1U);
}

TEST(RateLimiter, AcquireSleepsForTheNextTokenOnTheRealtimeClock) {
  RateLimiter limiter(realtime_clock(), /*per_minute=*/60'000, /*burst=*/1);  // 1 ms a token
  ASSERT_TRUE(limiter.try_acquire());
  EXPECT_TRUE(limiter.acquire(seconds(5)));
  EXPECT_EQ(limiter.throttled(), 0U);
}

}  // namespace
}  // namespace nautilus::core
