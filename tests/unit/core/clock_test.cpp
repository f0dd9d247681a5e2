#include "nautilus/core/clock.hpp"

#include <gtest/gtest.h>

#include <chrono>

namespace nautilus::core {
namespace {

TEST(SimulatedClock, MovesOnlyWhenToldAndNeverBackwards) {
  SimulatedClock c(1'000);
  EXPECT_EQ(c.now(), 1'000);
  c.advance(std::chrono::microseconds(5));
  EXPECT_EQ(c.now(), 6'000);
  ASSERT_TRUE(c.set(10'000));
  EXPECT_EQ(c.now(), 10'000);
  auto back = c.set(9'999);
  ASSERT_FALSE(back);
  EXPECT_EQ(back.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(c.now(), 10'000);
}

TEST(RealtimeClock, AgreesWithSystemClock) {
  const auto sys = std::chrono::duration_cast<std::chrono::nanoseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  const UnixNanos ours = realtime_clock().now();
  EXPECT_LT(std::llabs(ours - sys), 1'000'000'000);  // same epoch and unit
  EXPECT_GE(realtime_clock().now(), ours);
}

}  // namespace
}  // namespace nautilus::core
