// The portfolio engine's fill price on bars: with fill_on = bars a market order fills at the
// close of the first bar after it, with fill_on = bar_open at that bar's open (a backtest's
// "next bar's open"), never on the bar that was already out when the order came.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "nautilus/engines/portfolio/engine.hpp"
#include "nautilus/model/market_data.hpp"
#include "nautilus/model/trading.hpp"
#include "support/engine_harness.hpp"

namespace nautilus {
namespace {

constexpr core::UnixNanos kT0 = 1'767'623'460'000'000'000;  // 2026-01-05T14:31:00Z
constexpr core::UnixNanos kMinute = 60'000'000'000;
const core::Symbol kA = core::Symbol::from_trusted("AAA");

model::Bar bar(const char* open, const char* close, core::UnixNanos ts) {
  const auto o = *core::Price::from_string(open);
  const auto c = *core::Price::from_string(close);
  return {.symbol = kA,
          .open = o,
          .high = std::max(o, c),
          .low = std::min(o, c),
          .close = c,
          .volume = *core::Quantity::from_string("100000"),
          .interval_s = 60,
          .ts_event = ts};
}

// The fills of one market buy placed after the first bar, with the second bar opening at 100
// and closing at 105.
std::vector<model::Fill> fills_with(const std::string& fill_on) {
  test::EngineHarness h(kT0);
  engine::EngineConfig cfg;
  cfg.set("fill_on", fill_on);
  cfg.set("slippage_bps", "0");
  cfg.set("fee_bps", "0");
  cfg.set("min_fee", "0");
  EXPECT_TRUE(h.start(portfolio::make_engine(), "portfolio", cfg));
  std::vector<model::Fill> fills;
  h.collect("portfolio.fill.*", fills);
  EXPECT_TRUE(h.pub->publish("market_data.AAA.bar", bar("90", "95", kT0)));
  h.step(1'000'000);
  EXPECT_TRUE(h.pub->publish("risk.order.AAA",
                             model::NewOrder{.client_order_id = 1,
                                             .symbol = kA,
                                             .strategy = model::Name::from_trusted("test"),
                                             .side = model::OrderSide::kBuy,
                                             .type = model::OrderType::kMarket,
                                             .tif = model::TimeInForce::kGtc,
                                             .reduce_only = false,
                                             .quantity = *core::Quantity::from_string("10"),
                                             .price = {},
                                             .ts_event = h.clock.now()}));
  h.step(1'000'000);
  EXPECT_TRUE(fills.empty()) << "no fill on the bar that was out before the order";
  EXPECT_TRUE(h.pub->publish("market_data.AAA.bar", bar("100", "105", kT0 + kMinute)));
  h.step(kMinute);
  return fills;
}

TEST(PortfolioEngine, AMarketOrderFillsAtTheNextBarsCloseOrWithBarOpenAtItsOpen) {
  const auto at_close = fills_with("bars");
  ASSERT_EQ(at_close.size(), 1U);
  EXPECT_EQ(at_close[0].price, *core::Price::from_string("105"));
  const auto at_open = fills_with("bar_open");
  ASSERT_EQ(at_open.size(), 1U);
  EXPECT_EQ(at_open[0].price, *core::Price::from_string("100"));
  EXPECT_EQ(at_open[0].ts_event, kT0 + kMinute);  // stamped at the bar's time
  EXPECT_EQ(at_open[0].quantity, *core::Quantity::from_string("10"));
}

}  // namespace
}  // namespace nautilus
