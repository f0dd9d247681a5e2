// The collateral engine's margin arithmetic: Reg T, portfolio margin, call prices and the
// liquidation that cures a call, on books worked by hand in the comments, and a seeded random book
// of 50 positions against tests/reference/margin_reference.py (numpy, /usr/bin/python3), which
// recomputes everything its own way (the call prices as roots of a recomputed excess, the
// liquidation by bisection), to 1e-10 relative.
#include "nautilus/engines/collateral/margin.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <boost/json.hpp>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "support/run_command.hpp"

namespace nautilus::collateral {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kCents = 1e-9;  // hand-worked dollar amounts, exact up to rounding

MarginReport margin(const std::vector<Position>& book, double equity,
                    const MarginSettings& settings = {}) {
  auto r = compute_margin(book, equity, settings);
  EXPECT_TRUE(r) << r.error().message;
  return r ? *r : MarginReport{};
}

// --- Reg T ---------------------------------------------------------------------------------

// The classic purchase: 400 shares at $50 ($20,000) with $10,000 of equity, $10,000 borrowed.
//   initial     50 % of 20,000 = 10,000 (exactly the equity: no excess over initial)
//   maintenance 25 % of 20,000 =  5,000; excess liquidity 10,000 - 5,000 = 5,000
//   utilisation 5,000 / 10,000 = 0.5: below the 0.8 warning
TEST(RegT, AClassicMarginPurchaseNeedsHalfItsValueAtStartAndAQuarterToStay) {
  const MarginReport m = margin({{"XYZ", 400, 50}}, 10'000);
  EXPECT_DOUBLE_EQ(m.long_value, 20'000);
  EXPECT_DOUBLE_EQ(m.short_value, 0);
  EXPECT_DOUBLE_EQ(m.reg_t.initial, 10'000);
  EXPECT_DOUBLE_EQ(m.reg_t.maintenance, 5'000);
  EXPECT_DOUBLE_EQ(m.reg_t.excess_liquidity, 5'000);
  EXPECT_DOUBLE_EQ(m.reg_t.utilisation, 0.5);
  EXPECT_DOUBLE_EQ(m.buying_power, 0);  // all of the equity is the initial margin
  EXPECT_EQ(m.reg_t.level, MarginLevel::kOk);
  EXPECT_FALSE(m.reg_t.call);
  ASSERT_EQ(m.positions.size(), 1u);
  EXPECT_DOUBLE_EQ(m.positions[0].initial, 10'000);
  EXPECT_DOUBLE_EQ(m.positions[0].maintenance, 5'000);
}

// With $15,000 of equity instead, 5,000 is over initial margin: at 50 % it buys $10,000 more.
TEST(RegT, BuyingPowerIsTheExcessOverInitialMarginAtTheInitialRate) {
  EXPECT_DOUBLE_EQ(margin({{"XYZ", 400, 50}}, 15'000).buying_power, 10'000);
}

// The call price of that purchase: the $10,000 loan against 400 shares at 25 % maintenance,
//   P* = loan / (q (1 - m)) = 10,000 / (400 * 0.75) = 33.3333...
// At 33.34: MV 13,336, E = 13,336 - 10,000 = 3,336, M = 3,334: still above.
// At 33.33: MV 13,332, E = 3,332, M = 3,333: called, short by 1.
TEST(RegT, ALongIsCalledWhenItsPriceFallsBelowTheLoanOverThreeQuartersOfItsShares) {
  const MarginReport m = margin({{"XYZ", 400, 50}}, 10'000);
  ASSERT_TRUE(m.positions[0].call_price);
  EXPECT_NEAR(*m.positions[0].call_price, 10'000.0 / 300.0, 1e-12);

  const MarginReport above = margin({{"XYZ", 400, 33.34}}, 13'336 - 10'000);
  EXPECT_NEAR(above.reg_t.maintenance, 3'334, kCents);
  EXPECT_NE(above.reg_t.level, MarginLevel::kCall);
  const MarginReport below = margin({{"XYZ", 400, 33.33}}, 13'332 - 10'000);
  EXPECT_EQ(below.reg_t.level, MarginLevel::kCall);
  ASSERT_TRUE(below.reg_t.call);
  EXPECT_NEAR(below.reg_t.call->deficit, 1, kCents);
}

// The warning: utilisation 0.25 * 400 P / (400 P - 10,000) reaches 0.8 at P = 8,000 / 220
// = 36.36. At 37: M 3,700 / E 4,800 = 0.771 (ok); at 36: 3,600 / 4,400 = 0.818 (warning).
TEST(RegT, AWarningComesWhenUtilisationReachesTheConfiguredLevel) {
  const MarginReport at37 = margin({{"XYZ", 400, 37}}, 14'800 - 10'000);
  EXPECT_NEAR(at37.reg_t.utilisation, 3'700.0 / 4'800.0, 1e-15);
  EXPECT_EQ(at37.reg_t.level, MarginLevel::kOk);
  const MarginReport at36 = margin({{"XYZ", 400, 36}}, 14'400 - 10'000);
  EXPECT_NEAR(at36.reg_t.utilisation, 3'600.0 / 4'400.0, 1e-15);
  EXPECT_EQ(at36.reg_t.level, MarginLevel::kWarning);
  EXPECT_FALSE(at36.reg_t.call);
  // A lower level warns earlier.
  MarginSettings s;
  s.warning_utilisation = 0.75;
  EXPECT_EQ(margin({{"XYZ", 400, 37}}, 14'800 - 10'000, s).reg_t.level, MarginLevel::kWarning);
}

// Equity exactly at maintenance is not below it: utilisation 1, a warning, no call.
TEST(RegT, EquityExactlyAtMaintenanceIsAWarningNotACall) {
  const MarginReport m = margin({{"XYZ", 400, 50}}, 5'000);
  EXPECT_DOUBLE_EQ(m.reg_t.utilisation, 1);
  EXPECT_EQ(m.reg_t.level, MarginLevel::kWarning);
  EXPECT_FALSE(m.reg_t.call);
}

// The fall to $30: MV 12,000, E = 12,000 - 10,000 = 2,000, M = 3,000: a call for 1,000.
//   X = MV - E / m = 12,000 - 2,000 / 0.25 = 4,000 (a third of the book).
// Selling $4,000 pays down the loan to 6,000: MV 8,000, E still 2,000, M = 2,000: restored.
TEST(RegT, AfterAFallTheLiquidationMvMinusEOverMRestoresMaintenance) {
  const MarginReport m = margin({{"XYZ", 400, 30}}, 2'000);
  EXPECT_DOUBLE_EQ(m.reg_t.maintenance, 3'000);
  EXPECT_DOUBLE_EQ(m.reg_t.utilisation, 1.5);
  EXPECT_EQ(m.reg_t.level, MarginLevel::kCall);
  ASSERT_TRUE(m.reg_t.call);
  EXPECT_NEAR(m.reg_t.call->deficit, 1'000, kCents);
  EXPECT_NEAR(m.reg_t.call->liquidation_value, 12'000 - 2'000 / 0.25, kCents);
  EXPECT_NEAR(m.reg_t.call->fraction, 1.0 / 3.0, 1e-15);
  EXPECT_TRUE(m.reg_t.call->restorable);

  // Recompute after closing the fraction: the equity is unchanged by a sale at market.
  const double left = 400 * (1 - m.reg_t.call->fraction);
  const MarginReport after = margin({{"XYZ", left, 30}}, 2'000);
  EXPECT_NEAR(after.long_value, 8'000, kCents);
  EXPECT_NEAR(after.reg_t.maintenance, 2'000, kCents);
  EXPECT_NEAR(after.reg_t.excess_liquidity, 0, kCents);
}

// The short: 100 shares sold at $50 bring $5,000; Reg T's 150 % asks $7,500 in the account, so
// the customer puts up $2,500. Equity = credit 7,500 - MV 5,000 = 2,500.
//   initial (1.5 - 1) * 5,000 = 2,500; maintenance 30 % of 5,000 = 1,500; excess 1,000.
//   P* = credit / (s (1 + m)) = 7,500 / 130 = 57.6923...
// At 57: E = 7,500 - 5,700 = 1,800, M = 1,710 (utilisation 0.95: a warning);
// at 58: E = 1,700, M = 1,740: called.
TEST(RegT, AShortNeedsHalfItsValueBeyondTheProceedsAndIsCalledWhenThePriceRises) {
  const MarginReport m = margin({{"XYZ", -100, 50}}, 2'500);
  EXPECT_DOUBLE_EQ(m.short_value, 5'000);
  EXPECT_DOUBLE_EQ(m.net_value, -5'000);
  EXPECT_DOUBLE_EQ(m.reg_t.initial, 2'500);
  EXPECT_DOUBLE_EQ(m.reg_t.maintenance, 1'500);
  EXPECT_DOUBLE_EQ(m.reg_t.excess_liquidity, 1'000);
  ASSERT_TRUE(m.positions[0].call_price);
  EXPECT_NEAR(*m.positions[0].call_price, 7'500.0 / 130.0, 1e-12);

  const MarginReport at57 = margin({{"XYZ", -100, 57}}, 7'500 - 5'700);
  EXPECT_NEAR(at57.reg_t.maintenance, 1'710, kCents);
  EXPECT_EQ(at57.reg_t.level, MarginLevel::kWarning);
  const MarginReport at58 = margin({{"XYZ", -100, 58}}, 7'500 - 5'800);
  EXPECT_EQ(at58.reg_t.level, MarginLevel::kCall);
}

// The short at $60: E = 7,500 - 6,000 = 1,500, M = 1,800: a call for 300.
//   X = MV - E / m = 6,000 - 1,500 / 0.3 = 1,000: buy back $1,000 (16.67 shares).
// After: credit 6,500, short MV 5,000, E 1,500, M = 0.3 * 5,000 = 1,500.
TEST(RegT, AShortsLiquidationIsTheBuyBackThatRestoresThirtyPercent) {
  const MarginReport m = margin({{"XYZ", -100, 60}}, 1'500);
  ASSERT_TRUE(m.reg_t.call);
  EXPECT_NEAR(m.reg_t.call->deficit, 300, kCents);
  EXPECT_NEAR(m.reg_t.call->liquidation_value, 1'000, kCents);
  const double left = -100 * (1 - m.reg_t.call->fraction);
  EXPECT_NEAR(left, -100 + 1'000.0 / 60.0, 1e-12);
  const MarginReport after = margin({{"XYZ", left, 60}}, 1'500);
  EXPECT_NEAR(after.reg_t.maintenance, 1'500, kCents);
}

// A mixed book: long A 1,000 at $20 (20,000), short B 200 at $50 (10,000).
//   M = 0.25 * 20,000 + 0.30 * 10,000 = 8,000; G = 30,000. With E = 6,000: a call for 2,000.
//   f = 2,000 / 8,000 = 1/4; X = 30,000 / 4 = 7,500 = G - E / (M / G): the blended rate 8/30.
// After closing a quarter of each: A 15,000, B 7,500: M = 3,750 + 2,250 = 6,000 = E.
TEST(RegT, AMixedBookIsLiquidatedProRataAtItsBlendedRate) {
  const MarginReport m = margin({{"A", 1'000, 20}, {"B", -200, 50}}, 6'000);
  EXPECT_DOUBLE_EQ(m.reg_t.maintenance, 8'000);
  EXPECT_DOUBLE_EQ(m.gross_value, 30'000);
  ASSERT_TRUE(m.reg_t.call);
  EXPECT_NEAR(m.reg_t.call->fraction, 0.25, 1e-15);
  EXPECT_NEAR(m.reg_t.call->liquidation_value, 30'000 - 6'000 / (8'000.0 / 30'000.0), kCents);
  const MarginReport after = margin({{"A", 750, 20}, {"B", -150, 50}}, 6'000);
  EXPECT_NEAR(after.reg_t.maintenance, 6'000, kCents);
  EXPECT_FALSE(after.reg_t.call);
}

// The same book with E = 10,000 (excess 2,000). Each position's price alone:
//   A: (R - E + q P) / (q (1 - m)) = (3,000 - 10,000 + 20,000) / 750 = 17.3333
//      (check: A at 17.33 is 17,333.33, E = 10,000 - 2,666.67 = 7,333.33, M = 4,333.33 + 3,000)
//   B: (E - R + s P) / (s (1 + m)) = (10,000 - 5,000 + 10,000) / 260 = 57.6923
//      (check: B at 57.69 is 11,538.46, E = 10,000 - 1,538.46 = 8,461.54, M = 5,000 + 3,461.54)
TEST(RegT, EachPositionsCallPriceHoldsTheOthersRequirement) {
  const MarginReport m = margin({{"A", 1'000, 20}, {"B", -200, 50}}, 10'000);
  ASSERT_TRUE(m.positions[0].call_price && m.positions[1].call_price);
  EXPECT_NEAR(*m.positions[0].call_price, 13'000.0 / 750.0, 1e-12);
  EXPECT_NEAR(*m.positions[1].call_price, 15'000.0 / 260.0, 1e-12);
  // Moving A to its call price (B held) puts equity exactly at maintenance.
  const double a = *m.positions[0].call_price;
  const MarginReport at = margin({{"A", 1'000, a}, {"B", -200, 50}}, 10'000 + 1'000 * (a - 20));
  EXPECT_NEAR(at.reg_t.excess_liquidity, 0, kCents);
}

// No positive price is a call price:
// - a fully paid long (100 at $10, E = 1,000): at $0, E = 0 = M; never below;
// - a long with cash beside it, likewise;
// - a short so far under water that it is called even at $0 (short 100 at $50, E = -6,000: at
//   $0, E = -1,000 < 0 = M);
// - a flat line (q = 0); a long at 100 % maintenance, whose excess never moves.
TEST(RegT, ThereIsNoCallPriceWhereNoPositivePriceMeetsMaintenance) {
  EXPECT_FALSE(margin({{"XYZ", 100, 10}}, 1'000).positions[0].call_price);
  EXPECT_FALSE(margin({{"XYZ", 100, 10}}, 1'500).positions[0].call_price);
  EXPECT_FALSE(margin({{"XYZ", -100, 50}}, -6'000).positions[0].call_price);
  EXPECT_FALSE(margin({{"XYZ", 0, 10}}, 1'000).positions[0].call_price);
  EXPECT_FALSE(margin_call_price(100, 10, 500, 0, 1.0));
  // ...while a short of positive equity always has one: 7,500 / 130 as above.
  EXPECT_TRUE(margin_call_price(-100, 50, 2'500, 0, 0.3));
}

// When the account is in call already, a long's call price is the price that would lift it:
// 400 at $30 with the $10,000 loan (E 2,000): still 33.33, above today's 30.
TEST(RegT, InACallALongsCallPriceIsThePriceThatWouldLiftIt) {
  const MarginReport m = margin({{"XYZ", 400, 30}}, 2'000);
  ASSERT_TRUE(m.positions[0].call_price);
  EXPECT_NEAR(*m.positions[0].call_price, 10'000.0 / 300.0, 1e-12);
}

// Other rates: 60 % / 30 % long, 160 % / 35 % short. Long 100 at $10 and short 100 at $10:
//   initial 600 + 0.6 * 1,000 = 1,200; maintenance 300 + 350 = 650.
TEST(RegT, TheRatesAreSettings) {
  MarginSettings s;
  s.initial_long = 0.6;
  s.maintenance_long = 0.3;
  s.initial_short = 1.6;
  s.maintenance_short = 0.35;
  const MarginReport m = margin({{"L", 100, 10}, {"S", -100, 10}}, 2'000, s);
  EXPECT_NEAR(m.reg_t.initial, 1'200, kCents);
  EXPECT_NEAR(m.reg_t.maintenance, 650, kCents);
  EXPECT_NEAR(m.buying_power, (2'000 - 1'200) / 0.6, kCents);
}

// --- Portfolio margin ----------------------------------------------------------------------

// numpy.linspace(-0.15, 0.15, 10): steps of 0.3 / 9 = 1/30, both ends included, no 0.
TEST(PortfolioMargin, TheTenShocksAreEquidistantFromMinusToPlusFifteenPercent) {
  const std::vector<double> g = shock_grid(0.15, 10);
  const std::array<double, 10> hand = {-0.15,    -7.0 / 60, -5.0 / 60, -0.05,    -1.0 / 60,
                                       1.0 / 60, 0.05,      5.0 / 60,  7.0 / 60, 0.15};
  ASSERT_EQ(g.size(), hand.size());
  for (std::size_t k = 0; k < g.size(); ++k) EXPECT_NEAR(g[k], hand[k], 1e-16) << k;
  EXPECT_EQ(g.front(), -0.15);
  EXPECT_EQ(g.back(), 0.15);
  // The last point is the shock itself, as numpy sets it: 11 steps of 0.2 / 11 from -0.1 would
  // overshoot 0.1 (0.10000000000000003).
  EXPECT_EQ(shock_grid(0.1, 12).back(), 0.1);
  // An odd count has 0 in the middle.
  EXPECT_NEAR(shock_grid(0.15, 7)[3], 0, 1e-16);
}

// Long 1,000 at $100 (100,000): the worst scenario is -15 %, a loss of 15,000, which is the
// requirement (Reg T's maintenance would be 25,000). With E = 20,000: utilisation 0.75.
TEST(PortfolioMargin, ALongsRequirementIsItsLossAtMinusFifteenPercent) {
  const MarginReport m = margin({{"A", 1'000, 100}}, 20'000);
  EXPECT_EQ(m.worst_scenario, 0u);
  ASSERT_EQ(m.scenario_pnl.size(), 10u);
  EXPECT_NEAR(m.scenario_pnl[0], -15'000, kCents);
  EXPECT_NEAR(m.scenario_pnl[6], 5'000, kCents);         // +5 %
  EXPECT_NEAR(m.scenario_pnl[4], -5'000.0 / 3, kCents);  // -1.67 %
  EXPECT_NEAR(m.portfolio.maintenance, 15'000, kCents);
  EXPECT_NEAR(m.portfolio.initial, 15'000, kCents);
  EXPECT_NEAR(m.portfolio.utilisation, 0.75, 1e-15);
  EXPECT_EQ(m.portfolio.level, MarginLevel::kOk);
  EXPECT_NEAR(m.positions[0].pm_worst_loss, 15'000, kCents);
  EXPECT_NEAR(m.positions[0].pm_scenario_loss, 15'000, kCents);
  EXPECT_DOUBLE_EQ(m.reg_t.maintenance, 25'000);
}

// Short 500 at $40 (20,000): the worst is +15 % (the last scenario), a loss of 3,000.
TEST(PortfolioMargin, AShortsRequirementIsItsLossAtPlusFifteenPercent) {
  const MarginReport m = margin({{"B", -500, 40}}, 10'000);
  EXPECT_EQ(m.worst_scenario, 9u);
  EXPECT_NEAR(m.portfolio.maintenance, 3'000, kCents);
  EXPECT_NEAR(m.scenario_pnl[0], 3'000, kCents);  // -15 % is a gain
  EXPECT_NEAR(m.positions[0].pm_worst_loss, 3'000, kCents);
}

// Long A 1,000 at $100 (100,000), short B 1,500 at $40 (60,000); one market move for both.
//   at -15 %: A loses 15,000, B gains 9,000: -6,000, the worst; at +15 %: +6,000.
// Alone they would need 15,000 + 9,000 = 24,000; Reg T asks 25,000 + 18,000 = 43,000.
TEST(PortfolioMargin, AHedgedBookOffsetsInTheSameScenario) {
  const MarginReport m = margin({{"A", 1'000, 100}, {"B", -1'500, 40}}, 10'000);
  EXPECT_EQ(m.worst_scenario, 0u);
  EXPECT_NEAR(m.portfolio.maintenance, 6'000, kCents);
  EXPECT_NEAR(m.scenario_pnl[9], 6'000, kCents);
  EXPECT_NEAR(m.scenario_pnl[7], 40'000 * 5.0 / 60, kCents);
  EXPECT_NEAR(m.positions[0].pm_worst_loss, 15'000, kCents);
  EXPECT_NEAR(m.positions[1].pm_worst_loss, 9'000, kCents);
  EXPECT_NEAR(m.positions[0].pm_scenario_loss, 15'000, kCents);
  EXPECT_NEAR(m.positions[1].pm_scenario_loss, -9'000, kCents);  // B's gain offsets
  EXPECT_DOUBLE_EQ(m.reg_t.maintenance, 43'000);
  EXPECT_EQ(m.portfolio.level, MarginLevel::kOk);     // 0.6
  EXPECT_EQ(m.reg_t.level, MarginLevel::kCall);       // 10,000 < 43,000
  EXPECT_EQ(m.in_force().level, MarginLevel::kCall);  // Reg T by default
  EXPECT_EQ(m.in_force(MarginMethod::kPortfolio).level, MarginLevel::kOk);
}

// The minimum: 10 % of gross (160,000) = 16,000 beats the 6,000 scenario loss. A
// dollar-neutral book (100,000 each way) needs nothing without it, 5 % * 200,000 with it.
TEST(PortfolioMargin, AMinimumRateFloorsTheRequirementOnGrossValue) {
  MarginSettings s;
  s.pm_minimum_rate = 0.1;
  EXPECT_NEAR(margin({{"A", 1'000, 100}, {"B", -1'500, 40}}, 20'000, s).portfolio.maintenance,
              16'000, kCents);
  const std::vector<Position> neutral = {{"A", 1'000, 100}, {"B", -2'500, 40}};
  EXPECT_NEAR(margin(neutral, 20'000).portfolio.maintenance, 0, kCents);
  s.pm_minimum_rate = 0.05;
  EXPECT_NEAR(margin(neutral, 20'000, s).portfolio.maintenance, 10'000, kCents);
}

// The hedged book with E = 5,000 < 6,000: a portfolio-margin call for 1,000. f = 1/6, X =
// 160,000 / 6 = 26,666.67; after, A 833.33 and B -1,250 need 5/6 of 6,000 = 5,000 = E.
TEST(PortfolioMargin, ACallIsCuredByClosingTheSameFractionOfEveryPosition) {
  MarginSettings s;
  s.method = MarginMethod::kPortfolio;
  const MarginReport m = margin({{"A", 1'000, 100}, {"B", -1'500, 40}}, 5'000, s);
  const AccountMargin& pm = m.in_force();
  EXPECT_EQ(pm.level, MarginLevel::kCall);
  ASSERT_TRUE(pm.call);
  EXPECT_NEAR(pm.call->deficit, 1'000, kCents);
  EXPECT_NEAR(pm.call->fraction, 1.0 / 6, 1e-15);
  EXPECT_NEAR(pm.call->liquidation_value, 160'000.0 / 6, kCents);
  const double keep = 1 - pm.call->fraction;
  const MarginReport after = margin({{"A", 1'000 * keep, 100}, {"B", -1'500 * keep, 40}}, 5'000);
  EXPECT_NEAR(after.portfolio.maintenance, 5'000, kCents);
}

// A wider, odd grid: +-20 % in 5 points (-20, -10, 0, 10, 20 %): long 100 at $50 loses 1,000.
TEST(PortfolioMargin, TheShockAndTheScenarioCountAreSettings) {
  MarginSettings s;
  s.pm_shock = 0.2;
  s.pm_scenarios = 5;
  const MarginReport m = margin({{"A", 100, 50}}, 5'000, s);
  ASSERT_EQ(m.shocks.size(), 5u);
  EXPECT_NEAR(m.shocks[1], -0.1, 1e-16);
  EXPECT_NEAR(m.scenario_pnl[2], 0, 1e-12);
  EXPECT_NEAR(m.portfolio.maintenance, 1'000, kCents);
}

// --- Edge cases ----------------------------------------------------------------------------

TEST(Edges, AFlatBookNeedsNothingAndUsesNothing) {
  const MarginReport m = margin({}, 1'000);
  EXPECT_EQ(m.reg_t.maintenance, 0);
  EXPECT_EQ(m.reg_t.utilisation, 0);
  EXPECT_EQ(m.reg_t.excess_liquidity, 1'000);
  EXPECT_EQ(m.reg_t.level, MarginLevel::kOk);
  EXPECT_EQ(m.portfolio.maintenance, 0);
  EXPECT_EQ(m.portfolio.level, MarginLevel::kOk);
  EXPECT_EQ(m.scenario_pnl, std::vector<double>(10, 0.0));
  EXPECT_EQ(m.worst_scenario, 0u);
  EXPECT_DOUBLE_EQ(m.buying_power, 2'000);
  // Zero equity and nothing held: nothing used, nothing owed.
  const MarginReport zero = margin({}, 0);
  EXPECT_EQ(zero.reg_t.utilisation, 0);
  EXPECT_EQ(zero.reg_t.level, MarginLevel::kOk);
}

// A debit with nothing held: a call for the debit that no sale can cure.
TEST(Edges, NegativeEquityOnAFlatBookIsACallOnlyADepositCures) {
  const MarginReport m = margin({}, -500);
  EXPECT_EQ(m.reg_t.utilisation, kInf);
  EXPECT_EQ(m.reg_t.level, MarginLevel::kCall);
  ASSERT_TRUE(m.reg_t.call);
  EXPECT_EQ(m.reg_t.call->deficit, 500);
  EXPECT_EQ(m.reg_t.call->fraction, 0);
  EXPECT_EQ(m.reg_t.call->liquidation_value, 0);
  EXPECT_FALSE(m.reg_t.call->restorable);
}

// 400 at $50 with no equity (all borrowed): closing everything leaves 0 = 0; restorable.
TEST(Edges, ZeroEquityWithPositionsHasInfiniteUtilisationAndClosesEverything) {
  const MarginReport m = margin({{"XYZ", 400, 50}}, 0);
  EXPECT_EQ(m.reg_t.utilisation, kInf);
  ASSERT_TRUE(m.reg_t.call);
  EXPECT_EQ(m.reg_t.call->fraction, 1);
  EXPECT_DOUBLE_EQ(m.reg_t.call->liquidation_value, 20'000);
  EXPECT_TRUE(m.reg_t.call->restorable);
}

// E = -1,000 under a 5,000 requirement: closing everything still leaves a 1,000 debit.
TEST(Edges, NegativeEquityCannotBeRestoredByLiquidation) {
  const MarginReport m = margin({{"XYZ", 400, 50}}, -1'000);
  EXPECT_EQ(m.reg_t.utilisation, kInf);
  ASSERT_TRUE(m.reg_t.call);
  EXPECT_DOUBLE_EQ(m.reg_t.call->deficit, 6'000);
  EXPECT_EQ(m.reg_t.call->fraction, 1);
  EXPECT_DOUBLE_EQ(m.reg_t.call->liquidation_value, 20'000);
  EXPECT_FALSE(m.reg_t.call->restorable);
  EXPECT_EQ(m.portfolio.level, MarginLevel::kCall);
  EXPECT_DOUBLE_EQ(m.buying_power, 0);
}

TEST(Edges, AFlatLineAndAWorthlessStockNeedNothing) {
  const MarginReport m = margin({{"A", 0, 10}, {"B", 100, 0}}, 100);
  EXPECT_EQ(m.reg_t.maintenance, 0);
  EXPECT_EQ(m.portfolio.maintenance, 0);
  EXPECT_EQ(m.positions[0].market_value, 0);
  EXPECT_FALSE(m.positions[0].call_price);
  EXPECT_FALSE(m.positions[1].call_price);  // equity 100 > 0 at any price of B
}

// --- Errors --------------------------------------------------------------------------------

void expect_invalid(const core::Result<MarginReport>& r, std::string_view names) {
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message.find(names), std::string::npos) << r.error().message;
}

TEST(Errors, NonFiniteOrNegativeInputsAreInvalidArguments) {
  const double nan = std::nan("");
  const std::vector<Position> ok = {{"XYZ", 400, 50}};
  expect_invalid(compute_margin(ok, nan), "equity");
  expect_invalid(compute_margin(ok, kInf), "equity");
  expect_invalid(compute_margin(std::vector<Position>{{"XYZ", nan, 50}}, 1), "XYZ");
  expect_invalid(compute_margin(std::vector<Position>{{"XYZ", 400, kInf}}, 1), "XYZ");
  expect_invalid(compute_margin(std::vector<Position>{{"XYZ", 400, -1}}, 1), "price");
  expect_invalid(compute_margin(std::vector<Position>{{"XYZ", 1e300, 1e300}}, 1), "overflows");
}

TEST(Errors, SettingsOutOfRangeNameTheSetting) {
  const std::vector<Position> book = {{"XYZ", 400, 50}};
  const auto with = [&](auto change) {
    MarginSettings s;
    change(s);
    return compute_margin(book, 10'000, s);
  };
  expect_invalid(with([](MarginSettings& s) { s.maintenance_long = 0.6; }), "maintenance_long");
  expect_invalid(with([](MarginSettings& s) { s.maintenance_long = -0.1; }), "maintenance_long");
  expect_invalid(with([](MarginSettings& s) { s.initial_long = 0; }), "initial_long");
  expect_invalid(with([](MarginSettings& s) { s.initial_long = 1.2; }), "initial_long");
  expect_invalid(with([](MarginSettings& s) { s.initial_short = 0.9; }), "initial_short");
  expect_invalid(with([](MarginSettings& s) { s.maintenance_short = 0.6; }), "maintenance_short");
  expect_invalid(with([](MarginSettings& s) { s.maintenance_short = std::nan(""); }),
                 "maintenance_short");
  expect_invalid(with([](MarginSettings& s) { s.pm_shock = 0; }), "pm_shock");
  expect_invalid(with([](MarginSettings& s) { s.pm_scenarios = 1; }), "pm_scenarios");
  expect_invalid(with([](MarginSettings& s) { s.pm_minimum_rate = -0.01; }), "pm_minimum_rate");
  expect_invalid(with([](MarginSettings& s) { s.warning_utilisation = 0; }), "warning_utilisation");
  expect_invalid(with([](MarginSettings& s) { s.warning_utilisation = 1.5; }),
                 "warning_utilisation");
  EXPECT_TRUE(validate(MarginSettings{}));
}

TEST(Names, MethodsAndLevelsHaveTheirWireNames) {
  EXPECT_EQ(to_string(MarginMethod::kRegT), "reg_t");
  EXPECT_EQ(to_string(MarginMethod::kPortfolio), "portfolio");
  EXPECT_EQ(to_string(MarginLevel::kOk), "ok");
  EXPECT_EQ(to_string(MarginLevel::kWarning), "warning");
  EXPECT_EQ(to_string(MarginLevel::kCall), "call");
}

// --- Against numpy -------------------------------------------------------------------------

bool have_numpy() { return std::system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") == 0; }

std::optional<boost::json::object> reference(const std::vector<Position>& book,
                                             const std::vector<double>& equities,
                                             const MarginSettings& s) {
  const std::string path =
      fmt::format("/tmp/nautilus_margin_{}_{}.csv", ::getpid(),
                  ::testing::UnitTest::GetInstance()->current_test_info()->name());
  {
    std::ofstream out(path);
    out << "symbol,quantity,price\n";
    for (const Position& p : book) out << fmt::format("{},{},{}\n", p.symbol, p.quantity, p.price);
  }
  std::string list;
  for (const double e : equities) list += fmt::format("{}{}", list.empty() ? "" : ",", e);
  const std::string cmd = fmt::format(
      "/usr/bin/python3 {}/tests/reference/margin_reference.py {} --equity={} "
      "--initial-long {} --maintenance-long {} --initial-short {} --maintenance-short {} "
      "--pm-shock {} --pm-scenarios {} --pm-minimum-rate {} --warning {}",
      NAUTILUS_SOURCE_DIR, path, list, s.initial_long, s.maintenance_long, s.initial_short,
      s.maintenance_short, s.pm_shock, s.pm_scenarios, s.pm_minimum_rate, s.warning_utilisation);
  const auto [status, text] = test::run_command(cmd);
  std::remove(path.c_str());
  EXPECT_EQ(status, 0) << text;
  if (status != 0) return std::nullopt;
  return boost::json::parse(text).as_object();
}

// 1e-10 relative to the reference's value, or to `scale` where the value is a difference or a
// sum of terms of both signs, whose rounding is relative to the terms (scale: their size).
void expect_close(double ours, const boost::json::value& theirs, const std::string& what,
                  double scale = 0) {
  if (theirs.is_string()) {
    EXPECT_EQ(theirs.as_string(), "inf") << what;
    EXPECT_EQ(ours, kInf) << what;
    return;
  }
  const double t = theirs.to_number<double>();
  EXPECT_LE(std::abs(ours - t), 1e-10 * std::max(std::abs(t), scale))
      << what << ": " << fmt::format("{} here, {} in the reference", ours, t);
}

void expect_account(const AccountMargin& a, const boost::json::object& ref, double equity,
                    const std::string& what) {
  expect_close(a.initial, ref.at("initial"), what + " initial");
  expect_close(a.maintenance, ref.at("maintenance"), what + " maintenance");
  expect_close(a.excess_liquidity, ref.at("excess_liquidity"), what + " excess",
               std::abs(equity) + a.maintenance);
  expect_close(a.utilisation, ref.at("utilisation"), what + " utilisation");
  EXPECT_EQ(to_string(a.level), ref.at("level").as_string()) << what;
  ASSERT_EQ(a.call.has_value(), !ref.at("call").is_null()) << what;
  if (!a.call) return;
  const auto& c = ref.at("call").as_object();
  expect_close(a.call->deficit, c.at("deficit"), what + " deficit",
               std::abs(equity) + a.maintenance);
  expect_close(a.call->fraction, c.at("fraction"), what + " fraction");
  expect_close(a.call->liquidation_value, c.at("liquidation_value"), what + " liquidation");
  EXPECT_EQ(a.call->restorable, c.at("restorable").as_bool()) << what;
}

// 50 positions, 60 % long, lognormal prices and sizes; one flat line and one worthless stock.
std::vector<Position> random_book(std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> z;
  std::uniform_real_distribution<double> u;
  std::vector<Position> book;
  for (int i = 0; i < 50; ++i) {
    const double price = std::exp(3.5 + 0.8 * z(rng));
    const double shares = std::round(std::exp(5 + 0.7 * z(rng)));
    book.push_back({fmt::format("S{:02}", i), (u(rng) < 0.6 ? 1 : -1) * shares, price});
  }
  book[17].quantity = 0;
  book[23].price = 0;
  return book;
}

void expect_like_reference(const std::vector<Position>& book, const MarginSettings& s) {
  ASSERT_TRUE(have_numpy()) << "/usr/bin/python3 needs numpy: scripts/install-deps.sh";
  // Equities around the requirements, from the default rates worked here (inputs only): far
  // above, just above (where longs' call prices fall inside (0, P)), in a Reg T call, in and out
  // of a portfolio-margin call (15 % of the net value), and at or below 0.
  double reg_t = 0, net = 0, gross = 0;
  for (const Position& p : book) {
    const double v = p.quantity * p.price;
    reg_t += v > 0 ? 0.25 * v : -0.30 * v;
    net += v;
    gross += std::abs(v);
  }
  const double pm = 0.15 * std::abs(net);
  const std::vector<double> equities = {2 * reg_t,   1.1 * reg_t, 1.01 * reg_t,
                                        0.9 * reg_t, 0.5 * reg_t, 1.1 * pm,
                                        0.95 * pm,   0,           -0.01 * gross};
  const auto ref = reference(book, equities, s);
  ASSERT_TRUE(ref);
  const auto& shocks = ref->at("shocks_hex").as_array();
  const auto& cases = ref->at("cases").as_array();
  ASSERT_EQ(cases.size(), equities.size());
  std::size_t call_prices = 0, inside = 0, calls = 0;
  for (std::size_t c = 0; c < equities.size(); ++c) {
    const MarginReport m = margin(book, equities[c], s);
    const auto& r = cases[c].as_object();
    const std::string what = fmt::format("equity {}", equities[c]);
    ASSERT_EQ(m.shocks.size(), shocks.size());
    for (std::size_t k = 0; k < shocks.size(); ++k) {
      // linspace's own doubles, bit for bit (hexadecimal: strtod reads it exactly).
      EXPECT_EQ(m.shocks[k], std::strtod(shocks[k].as_string().c_str(), nullptr)) << k;
    }
    expect_close(m.long_value, r.at("long_value"), what + " long value");
    expect_close(m.short_value, r.at("short_value"), what + " short value");
    expect_account(m.reg_t, r.at("reg_t").as_object(), equities[c], what + " reg_t");
    expect_account(m.portfolio, r.at("portfolio").as_object(), equities[c], what + " portfolio");
    expect_close(m.buying_power, r.at("buying_power"), what + " buying power",
                 (std::abs(equities[c]) + m.reg_t.initial) / s.initial_long);
    EXPECT_EQ(m.worst_scenario, r.at("worst_scenario").to_number<std::size_t>()) << what;
    const auto& pnl = r.at("scenario_pnl").as_array();
    ASSERT_EQ(m.scenario_pnl.size(), pnl.size());
    for (std::size_t k = 0; k < pnl.size(); ++k) {
      expect_close(m.scenario_pnl[k], pnl[k], fmt::format("{} scenario {}", what, k),
                   std::abs(m.shocks[k]) * gross);
    }
    const auto& pos = r.at("positions").as_array();
    ASSERT_EQ(m.positions.size(), pos.size());
    for (std::size_t i = 0; i < pos.size(); ++i) {
      const auto& p = pos[i].as_object();
      const PositionMargin& ours = m.positions[i];
      const std::string at = fmt::format("{} {}", what, ours.symbol);
      expect_close(ours.market_value, p.at("market_value"), at + " market value");
      expect_close(ours.initial, p.at("initial"), at + " initial");
      expect_close(ours.maintenance, p.at("maintenance"), at + " maintenance");
      expect_close(ours.pm_worst_loss, p.at("pm_worst_loss"), at + " pm worst loss");
      expect_close(ours.pm_scenario_loss, p.at("pm_scenario_loss"), at + " pm scenario loss");
      ASSERT_EQ(ours.call_price.has_value(), !p.at("call_price").is_null()) << at;
      if (ours.call_price) {
        // Relative to the position's price too: a call price near 0 is a small difference.
        expect_close(*ours.call_price, p.at("call_price"), at + " call price", ours.price);
        ++call_prices;
        if (*ours.call_price < ours.price) ++inside;
      }
    }
    calls += m.reg_t.call ? 1 : 0;
  }
  // The book exercises what it is meant to: call prices on both sides of today's, calls.
  EXPECT_GT(call_prices, 50u);
  EXPECT_GT(inside, 5u);
  EXPECT_GE(calls, 3u);
}

TEST(Reference, ARandomBookOfFiftyMatchesNumpyAtTheDefaultRates) {
  expect_like_reference(random_book(20240611), MarginSettings{});
}

TEST(Reference, ARandomBookOfFiftyMatchesNumpyAtOtherRatesAndAnOddGrid) {
  MarginSettings s;
  s.initial_long = 0.6;
  s.maintenance_long = 0.3;
  s.initial_short = 1.6;
  s.maintenance_short = 0.35;
  s.pm_shock = 0.2;
  s.pm_scenarios = 7;
  s.pm_minimum_rate = 0.02;
  s.warning_utilisation = 0.7;
  expect_like_reference(random_book(7), s);
}

}  // namespace
}  // namespace nautilus::collateral
