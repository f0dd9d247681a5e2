// The book's VaR from bar closes: closes aligned on the times every held symbol has, returns
// from them, and each method's VaR scaled by the square root of the horizon.
#include "nautilus/engines/risk/book_risk.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace nautilus::risk {
namespace {

const core::Symbol kA = core::Symbol::from_trusted("AAA");
const core::Symbol kB = core::Symbol::from_trusted("BBB");

TEST(BookRisk, ClosesAreAlignedOnTheTimesEveryHeldSymbolHas) {
  CloseHistory h(10);
  for (int t = 1; t <= 6; ++t) h.add(kA, t, 100 + t);
  for (int t : {1, 2, 4, 5, 6}) h.add(kB, t, 50 + t);  // no close at 3
  std::size_t times = 0;
  const auto c = h.common_closes({kA, kB}, 4, times);
  ASSERT_EQ(times, 4U);  // 2, 4, 5, 6: the latest four common times, oldest first
  EXPECT_EQ(c, (std::vector<double>{102, 52, 104, 54, 105, 55, 106, 56}));
  h.add(kA, 7, -1);  // not a price: ignored
  EXPECT_EQ(h.common_closes({kA}, 1, times), (std::vector<double>{106}));
}

TEST(BookRisk, ALateCloseIsPlacedInTimeOrderARepeatedTimeReplacedAndTheOldestForgotten) {
  CloseHistory h(3);
  h.add(kA, 10, 1);
  h.add(kA, 30, 3);
  h.add(kA, 20, 2);    // late: between the two
  h.add(kA, 30, 3.5);  // the same time again: replaces
  std::size_t times = 0;
  EXPECT_EQ(h.common_closes({kA}, 5, times), (std::vector<double>{1, 2, 3.5}));
  EXPECT_EQ(times, 3U);
  h.add(kA, 40, 4);  // keeps 3: the close at 10 goes
  EXPECT_EQ(h.common_closes({kA}, 5, times), (std::vector<double>{2, 3.5, 4}));
  h.add(kA, 5, 0.5);  // older than all it keeps: in, then forgotten at once
  EXPECT_EQ(h.common_closes({kA}, 5, times), (std::vector<double>{2, 3.5, 4}));
}

TEST(BookRisk, EachMethodIsTheLibrarysOnTheSameReturnsScaledByTheRootOfTheHorizon) {
  CloseHistory h(1000);
  std::mt19937_64 rng(4);
  std::normal_distribution<double> z(0, 0.001);
  double a = 100, b = 50;
  std::vector<double> returns;
  for (int t = 0; t <= 100; ++t) {
    if (t > 0) {
      const double ra = z(rng), rb = 0.5 * ra + z(rng);
      a *= 1 + ra;
      b *= 1 + rb;
    }
    h.add(kA, t, a);
    h.add(kB, t, b);
  }
  std::size_t times = 0;
  const auto c = h.common_closes({kA, kB}, 101, times);
  for (std::size_t t = 1; t < times; ++t) {
    returns.push_back(c[t * 2] / c[(t - 1) * 2] - 1);
    returns.push_back(c[t * 2 + 1] / c[(t - 1) * 2 + 1] - 1);
  }
  const std::vector<double> v = {10'000, -4'000};
  const ReturnsPanel panel{.values = returns, .days = times - 1, .instruments = 2};
  auto r = book_var(h, {{kA, 10'000}, {kB, -4'000}},
                    {.window = 100, .horizon_bars = 16, .confidences = {0.99}, .scenarios = 5000});
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->size(), 3U);
  const auto hist = historical_var(v, panel, 0.99);
  const auto para = parametric_var(v, panel, 0.99, {.zero_mean = true});
  EXPECT_DOUBLE_EQ((*r)[0].result.var, hist->var * 4);
  EXPECT_DOUBLE_EQ((*r)[0].result.expected_shortfall, hist->expected_shortfall * 4);
  EXPECT_DOUBLE_EQ((*r)[1].result.var, para->var * 4);
  EXPECT_EQ((*r)[2].method, Method::kMonteCarlo);
  EXPECT_NEAR((*r)[2].result.var, para->var * 4, 0.1 * para->var * 4);  // 5,000 scenarios
  // A flat book has no risk; too little history is said so.
  EXPECT_TRUE(book_var(h, {{kA, 0.0}}, {})->empty());
  CloseHistory short_history(10);
  short_history.add(kA, 1, 10);
  auto few = book_var(short_history, {{kA, 1.0}}, {});
  ASSERT_FALSE(few);
  EXPECT_NE(few.error().message.find("want 21"), std::string::npos) << few.error().message;
}

}  // namespace
}  // namespace nautilus::risk
