// Backoff (src/bus_redis/backoff.hpp): how long the transport waits between connection
// attempts.
#include "backoff.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

namespace nautilus::bus_redis::detail {
namespace {

using std::chrono::milliseconds;

TEST(Backoff, IsDueBeforeAnyFailure) {
  const Backoff b(milliseconds(10), milliseconds(2000));
  EXPECT_TRUE(b.due());
  EXPECT_EQ(b.delay(), milliseconds(0));
}

TEST(Backoff, WaitsTheMinimumAfterTheFirstFailure) {
  Backoff b(std::chrono::hours(1), std::chrono::hours(2));
  const auto before = Backoff::Clock::now();
  b.failed();
  EXPECT_EQ(b.delay(), std::chrono::hours(1));
  EXPECT_FALSE(b.due());
  EXPECT_GE(b.next(), before + std::chrono::hours(1));
  EXPECT_LE(b.next(), Backoff::Clock::now() + std::chrono::hours(1));
}

TEST(Backoff, DoublesTheWaitAfterEachFurtherFailure) {
  Backoff b(milliseconds(10), milliseconds(2000));
  b.failed();
  b.failed();
  EXPECT_EQ(b.delay(), milliseconds(20));
  b.failed();
  EXPECT_EQ(b.delay(), milliseconds(40));
}

TEST(Backoff, NeverWaitsLongerThanTheMaximum) {
  Backoff b(milliseconds(10), milliseconds(50));
  for (int i = 0; i < 10; ++i) b.failed();
  EXPECT_EQ(b.delay(), milliseconds(50));
}

TEST(Backoff, WaitsTheMinimumAgainAfterASuccess) {
  Backoff b(milliseconds(10), milliseconds(2000));
  for (int i = 0; i < 5; ++i) b.failed();
  b.succeeded();
  EXPECT_EQ(b.delay(), milliseconds(0));
  b.failed();
  EXPECT_EQ(b.delay(), milliseconds(10));
}

TEST(Backoff, IsDueAgainOnceTheWaitHasPassed) {
  Backoff b(milliseconds(1), milliseconds(1));
  b.failed();
  std::this_thread::sleep_for(milliseconds(5));
  EXPECT_TRUE(b.due());
}

}  // namespace
}  // namespace nautilus::bus_redis::detail
