// Factor attribution worked by hand: yesterday's exposures times today's factor returns, the
// residual what is left, dates without exposures before them or without factor returns skipped.
#include "nautilus/engines/analytics/attribution.hpp"

#include <gtest/gtest.h>

namespace nautilus::analytics {
namespace {

TEST(Attribution, YesterdaysExposuresTimesTodaysFactorReturnsAndTheRest) {
  // Held at the close of day 10: market 0.5 (half the NAV invested), momentum 0.3; at day 11's
  // close: market 0.8, momentum -0.2.
  const Exposures x = {{10, {0.5, 0.3}}, {11, {0.8, -0.2}}};
  // Day 11: market +2 %, momentum +1 %; day 12: market -1 %, momentum +3 %.
  const FactorSeries f = {{11, {0.02, 0.01}}, {12, {-0.01, 0.03}}};
  // Day 10 has no exposures before it; day 13 no factor returns: both left out.
  const std::map<DayNumber, double> r = {{10, 0.05}, {11, 0.015}, {12, -0.02}, {13, 0.01}};
  const Attribution a = attribute({"market", "mom"}, x, f, r);
  ASSERT_EQ(a.days.size(), 2U);
  // Day 11: 0.5 x 0.02 = 0.010 and 0.3 x 0.01 = 0.003; residual 0.015 - 0.013 = 0.002.
  EXPECT_DOUBLE_EQ(a.days[0].contributions[0], 0.010);
  EXPECT_DOUBLE_EQ(a.days[0].contributions[1], 0.003);
  EXPECT_NEAR(a.days[0].residual, 0.002, 1e-15);
  // Day 12 (day 11's exposures): 0.8 x -0.01 = -0.008, -0.2 x 0.03 = -0.006; residual -0.006.
  EXPECT_DOUBLE_EQ(a.days[1].contributions[0], -0.008);
  EXPECT_DOUBLE_EQ(a.days[1].contributions[1], -0.006);
  EXPECT_NEAR(a.days[1].residual, -0.006, 1e-15);
  EXPECT_NEAR(a.total[0], 0.002, 1e-15);
  EXPECT_NEAR(a.total[1], -0.003, 1e-15);
  EXPECT_NEAR(a.portfolio, -0.005, 1e-15);
  EXPECT_NEAR(a.residual, a.portfolio - a.total[0] - a.total[1], 1e-15);
  // Vectors shorter than the factors are not used.
  EXPECT_TRUE(attribute({"market", "mom", "val"}, x, f, r).days.empty());
}

}  // namespace
}  // namespace nautilus::analytics
