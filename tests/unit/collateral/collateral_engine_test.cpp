// The collateral and analytics engines on the bus: margin of the book against each snapshot's
// NAV with a call when equity falls below maintenance; the NAV's daily closes become returns
// whose metrics are the library's on the same series.
#include <gtest/gtest.h>

#include <cmath>

#include "nautilus/engine/host.hpp"
#include "nautilus/engines/analytics/engine.hpp"
#include "nautilus/engines/analytics/metrics.hpp"
#include "nautilus/engines/collateral/engine.hpp"
#include "nautilus/model/market_data.hpp"
#include "nautilus/model/risk.hpp"
#include "nautilus/model/trading.hpp"
#include "support/engine_harness.hpp"

namespace nautilus {
namespace {

constexpr core::UnixNanos kDay = 86'400'000'000'000;
constexpr core::UnixNanos kT0 = 1'767'571'200'000'000'000;  // 2026-01-05T00:00:00Z
const core::Symbol kA = core::Symbol::from_trusted("AAA");

struct Harness : test::EngineHarness {
  std::vector<model::MarginUpdate> margins;
  std::vector<model::MarginAlert> alerts;
  std::vector<model::PerformanceMetrics> performance;
  std::vector<model::FactorReturns> attribution;

  Harness() : EngineHarness(kT0) {}
  core::Result<void> start(std::unique_ptr<engine::Engine> e, const std::string& name,
                           engine::EngineConfig cfg = {}) {
    if (auto ok = EngineHarness::start(std::move(e), name, std::move(cfg)); !ok) return ok;
    collect("collateral.margin.account", margins);
    collect("margin.alert.*", alerts);
    collect("performance.metric.account", performance);
    collect("analytics.result.attribution", attribution);
    return {};
  }
  void step() { EngineHarness::step(1'000'000); }
  void publish_price(const char* px, core::UnixNanos ts) {
    const auto p = *core::Price::from_string(px);
    ASSERT_TRUE(
        pub->publish("market_data.AAA.bar", model::Bar{.symbol = kA,
                                                       .open = p,
                                                       .high = p,
                                                       .low = p,
                                                       .close = p,
                                                       .volume = *core::Quantity::from_string("1"),
                                                       .interval_s = 60,
                                                       .ts_event = ts}));
    step();
  }
  void publish_nav(double nav, core::UnixNanos ts) {
    ASSERT_TRUE(pub->publish(
        "portfolio.update.account",
        model::PortfolioSnapshot{.nav = *core::Price::from_double(nav, 2), .ts_event = ts}));
    step();
  }
};

TEST(CollateralEngine, AFallBelowMaintenanceIsACallWithTheLiquidationThatCuresIt) {
  Harness h;
  ASSERT_TRUE(h.start(collateral::make_engine(), "collateral"));
  // Long 400 at 50 ($20,000) on $10,000 of equity: Reg T's classic case.
  ASSERT_TRUE(h.pub->publish("portfolio.fill.AAA",
                             model::Fill{.trade_id = 1,
                                         .symbol = kA,
                                         .side = model::OrderSide::kBuy,
                                         .quantity = *core::Quantity::from_string("400"),
                                         .price = *core::Price::from_string("50")}));
  h.publish_price("50", kT0);
  h.publish_nav(10'000, kT0);
  ASSERT_EQ(h.margins.size(), 1U);
  EXPECT_DOUBLE_EQ(h.margins[0].maintenance_margin.as_double(), 5'000);  // 25 % of 20,000
  EXPECT_TRUE(h.alerts.empty());
  // At 30: MV 12,000, equity 2,000, maintenance 3,000: a call; X = MV - E / m = 4,000.
  h.publish_price("30", kT0 + 1);
  h.publish_nav(2'000, kT0 + 1);
  ASSERT_FALSE(h.alerts.empty());
  EXPECT_EQ(h.alerts.back().level, model::MarginAlertLevel::kCall);
  EXPECT_DOUBLE_EQ(h.alerts.back().liquidation_amount.as_double(), 4'000);
  EXPECT_DOUBLE_EQ(h.margins.back().excess_liquidity.as_double(), -1'000);
}

TEST(AnalyticsEngine, TheNavsDailyClosesBecomeReturnsWithTheLibrarysMetrics) {
  Harness h;
  engine::EngineConfig cfg;
  cfg.set("benchmark", "");
  ASSERT_TRUE(h.start(analytics::make_engine(), "analytics", cfg));
  // Two snapshots a day; the last of each date is its close.
  const double navs[] = {1'000'000, 1'010'000, 1'005'000, 990'000, 1'020'000, 1'030'000};
  h.publish_nav(1'000'000, kT0 + 1);  // inception
  for (std::size_t d = 0; d < 6; ++d) {
    h.publish_nav(navs[d] - 500, kT0 + static_cast<core::UnixNanos>(d) * kDay + 3600);
    h.publish_nav(navs[d], kT0 + static_cast<core::UnixNanos>(d) * kDay + 7200);
  }
  h.publish_nav(1'030'000, kT0 + 6 * kDay + 1);  // the sixth date is complete
  ASSERT_EQ(h.performance.size(), 6U);           // one per completed date
  std::vector<double> r;
  std::vector<analytics::Date> dates;
  double prev = 1'000'000;
  for (std::size_t d = 0; d < 6; ++d) {
    r.push_back(navs[d] / prev - 1);
    prev = navs[d];
    dates.emplace_back(std::chrono::days(kT0 / kDay + static_cast<std::int64_t>(d)));
  }
  const auto want = analytics::compute_metrics(dates, r);
  ASSERT_TRUE(want);
  const auto& got = h.performance.back();
  EXPECT_EQ(got.days, 6U);
  EXPECT_NEAR(got.total_return, 0.03, 1e-12);
  EXPECT_DOUBLE_EQ(got.sharpe, want->sharpe_ratio);
  EXPECT_DOUBLE_EQ(got.max_drawdown, want->drawdown.depth);
  EXPECT_NEAR(got.max_drawdown, 990'000.0 / 1'010'000 - 1, 1e-12);
}

TEST(AnalyticsEngine, AttributesTheReturnsToTheFactorModelsExposuresHeldOvernight) {
  Harness h;
  engine::EngineConfig cfg;
  cfg.set("benchmark", "");
  cfg.set("factor_model", "toraniko");
  ASSERT_TRUE(h.start(analytics::make_engine(), "analytics", cfg));
  const auto name = [](const char* n) { return model::Name::from_trusted(n); };
  // Day 0: 1,000 AAA at 100 on a NAV of 1,000,000 (weight 0.1), AAA's momentum exposure 2.
  ASSERT_TRUE(
      h.pub->publish("factor.model.toraniko.AAA",
                     model::FactorExposures{.symbol = kA,
                                            .ts_event = kT0,
                                            .names = {name("mom"), name("sze"), name("val")},
                                            .values = {2.0, 0.0, 0.0}}));
  ASSERT_TRUE(h.pub->publish("portfolio.fill.AAA",
                             model::Fill{.trade_id = 1,
                                         .symbol = kA,
                                         .side = model::OrderSide::kBuy,
                                         .quantity = *core::Quantity::from_string("1000"),
                                         .price = *core::Price::from_string("100")}));
  h.publish_price("100", kT0 + 1);
  h.publish_nav(1'000'000, kT0 + 2);
  // Day 1: market +1 %, momentum +0.5 %; AAA +1.5 %: the account +0.15 %.
  ASSERT_TRUE(h.pub->publish("factor.return.toraniko",
                             model::FactorReturns{.model = name("toraniko"),
                                                  .ts_event = kT0 + kDay,
                                                  .names = {name("market"), name("Energy"),
                                                            name("mom"), name("sze"), name("val")},
                                                  .returns = {0.01, 0.003, 0.005, 0.0, 0.0}}));
  h.publish_price("101.5", kT0 + kDay + 1);
  h.publish_nav(1'001'500, kT0 + kDay + 2);
  h.publish_nav(1'001'500, kT0 + 2 * kDay + 1);  // day 1 is complete
  ASSERT_FALSE(h.attribution.empty());
  const auto& a = h.attribution.back();
  ASSERT_EQ(a.names.size(), 5U);  // market, mom, sze, val, residual
  EXPECT_EQ(a.names[0].view(), "market");
  EXPECT_NEAR(a.returns[0], 0.1 * 0.01, 1e-12);         // weight x market
  EXPECT_NEAR(a.returns[1], 0.1 * 2.0 * 0.005, 1e-12);  // weight x exposure x momentum
  EXPECT_EQ(a.names[4].view(), "residual");
  EXPECT_NEAR(a.returns[4], 0.0015 - 0.001 - 0.001, 1e-12);
}

}  // namespace
}  // namespace nautilus
