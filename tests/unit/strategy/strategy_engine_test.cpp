// The strategy engine on the bus with the momentum built-in: a rising market becomes a long
// target and a buy order for the gap; an ml prediction against it keeps it flat; a toxicity
// alert stands the symbol down (no new exposure) and, with flatten_on_toxicity, closes it.
#include <gtest/gtest.h>

#include <cmath>

#include "nautilus/engine/host.hpp"
#include "nautilus/engines/strategy/engine.hpp"
#include "nautilus/model/market_data.hpp"
#include "nautilus/model/signals.hpp"
#include "nautilus/model/trading.hpp"
#include "support/engine_harness.hpp"

namespace nautilus::strategy {
namespace {

constexpr core::UnixNanos kT0 = 1'767'623'400'000'000'000;
constexpr core::UnixNanos kMinute = 60'000'000'000;
const core::Symbol kA = core::Symbol::from_trusted("AAA");

struct Harness : test::EngineHarness {
  std::vector<model::NewOrder> orders;
  std::vector<model::TargetPosition> targets;
  std::uint64_t trade_id = 1;

  Harness() : EngineHarness(kT0) {}
  core::Result<void> start(engine::EngineConfig cfg) {
    if (auto ok = EngineHarness::start(make_engine(), "strategy", std::move(cfg)); !ok) return ok;
    collect("order.new.*", orders);
    collect("portfolio.rebalance.*", targets);
    return {};
  }
  void step() { EngineHarness::step(kMinute); }
  void bar(const char* close) {
    const auto px = *core::Price::from_string(close);
    ASSERT_TRUE(pub->publish("market_data.AAA.bar",
                             model::Bar{.symbol = kA,
                                        .open = px,
                                        .high = px,
                                        .low = px,
                                        .close = px,
                                        .volume = *core::Quantity::from_string("1000"),
                                        .interval_s = 60,
                                        .ts_event = clock.now()}));
    step();
  }
  // The last order filled whole at `px`, as the portfolio would report it.
  void fill_last(const char* px) {
    const auto& o = orders.back();
    ASSERT_TRUE(
        pub->publish("portfolio.fill.AAA", model::Fill{.trade_id = trade_id++,
                                                       .client_order_id = o.client_order_id,
                                                       .symbol = kA,
                                                       .side = o.side,
                                                       .quantity = o.quantity,
                                                       .price = *core::Price::from_string(px),
                                                       .ts_event = clock.now()}));
    ASSERT_TRUE(
        pub->publish("order.event.AAA", model::OrderFilled{.client_order_id = o.client_order_id,
                                                           .symbol = kA,
                                                           .status = model::OrderStatus::kFilled}));
    step();
  }
  void toxic() {
    ASSERT_TRUE(pub->publish(
        "toxicity.alert.AAA",
        model::ToxicityAlert{.symbol = kA, .vpin = 0.6, .cdf = 0.99, .ts_event = clock.now()}));
    step();
  }
};

engine::EngineConfig momentum() {
  engine::EngineConfig cfg;
  cfg.set("strategy", "momentum");
  cfg.set("lookback", "3");
  cfg.set("threshold", "0.01");
  cfg.set("notional", "1000");
  return cfg;
}

TEST(StrategyEngine, ARiseBecomesALongTargetAndOneBuyForTheGap) {
  Harness h;
  ASSERT_TRUE(h.start(momentum()));
  for (const char* c : {"100", "100.5", "101", "103"}) h.bar(c);  // 3 % over 3 bars
  ASSERT_EQ(h.orders.size(), 1U);
  EXPECT_EQ(h.orders[0].side, model::OrderSide::kBuy);
  EXPECT_EQ(h.orders[0].quantity, *core::Quantity::from_string("9"));  // floor(1000 / 103)
  EXPECT_EQ(h.targets.back().side, model::PositionSide::kLong);
  h.bar("104");  // still long: the order on its way covers the gap, no second one
  EXPECT_EQ(h.orders.size(), 1U);
}

TEST(StrategyEngine, AnMlPredictionAgainstTheMoveKeepsItFlat) {
  Harness h;
  ASSERT_TRUE(h.start(momentum()));
  ASSERT_TRUE(h.pub->publish(
      "ml.prediction.AAA",
      model::Prediction{
          .symbol = kA, .value = -0.002, .probability = std::nan(""), .ts_event = h.clock.now()}));
  for (const char* c : {"100", "100.5", "101", "103"}) h.bar(c);
  EXPECT_TRUE(h.orders.empty());
  EXPECT_EQ(h.targets.back().side, model::PositionSide::kFlat);
}

TEST(StrategyEngine, AToxicityAlertStandsTheSymbolDownAndCanFlattenIt) {
  Harness h;
  auto cfg = momentum();
  cfg.set("flatten_on_toxicity", "true");
  cfg.set("toxicity_cooldown_s", "600");
  ASSERT_TRUE(h.start(cfg));
  for (const char* c : {"100", "100.5", "101", "103"}) h.bar(c);
  ASSERT_EQ(h.orders.size(), 1U);
  h.fill_last("103");
  h.toxic();  // flatten: sell the 9
  ASSERT_EQ(h.orders.size(), 2U);
  EXPECT_EQ(h.orders[1].side, model::OrderSide::kSell);
  EXPECT_EQ(h.orders[1].quantity, *core::Quantity::from_string("9"));
  h.fill_last("103");
  // Rising on, inside the 10-minute cooldown: no new exposure.
  for (const char* c : {"104", "106", "108"}) h.bar(c);
  EXPECT_EQ(h.orders.size(), 2U);
  // After it, the strategy trades again.
  for (int i = 0; i < 10; ++i) h.bar(i % 2 ? "110" : "111");
  for (const char* c : {"112", "114", "116"}) h.bar(c);
  ASSERT_EQ(h.orders.size(), 3U);
  EXPECT_EQ(h.orders[2].side, model::OrderSide::kBuy);
}

TEST(StrategyEngine, BadParametersStopTheStartNamingThem) {
  engine::EngineConfig cfg = momentum();
  cfg.set("overrides", "AAA:lookback=1");
  auto ok = Harness{}.start(cfg);
  ASSERT_FALSE(ok);
  EXPECT_NE(ok.error().message.find("lookback"), std::string::npos) << ok.error().message;
  engine::EngineConfig bad = momentum();
  bad.set("overrides", "AAA:speed=3");
  auto refused = Harness{}.start(bad);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("'speed' is not a strategy parameter"), std::string::npos)
      << refused.error().message;
}

// A strategy restarted beside a running portfolio (or a platform restarted from its snapshot):
// the portfolio's books say 5 held and 4 on their way in an order of this strategy, so the
// target of 9 needs nothing more; without them it would buy the 9 again.
TEST(StrategyEngine, ARestartedStrategyTakesThePortfoliosBooksAndDoesNotOrderTheirQuantityAgain) {
  const auto books = [](const char* strategy) {
    return model::PortfolioBooks{.initial_cash = *core::Price::from_string("100000"),
                                 .cash = *core::Price::from_string("99485"),
                                 .fills = 1,
                                 .last_trade_id = 1,
                                 .symbols = {kA},
                                 .quantity = {5'000'000'000},
                                 .cost = {*core::Price::from_string("515")},
                                 .position_realized = {core::Price{}},
                                 .position_commissions = {core::Price{}},
                                 .order_ids = {77},
                                 .order_symbols = {kA},
                                 .order_strategies = {model::Name::from_trusted(strategy)},
                                 .order_leaves = {4'000'000'000},
                                 .order_filled = {0},
                                 .order_prices = {core::Price{}},
                                 .ts_event = kT0};
  };
  Harness h;
  ASSERT_TRUE(h.start(momentum()));
  ASSERT_TRUE(h.pub->publish("portfolio.books", books("momentum")));
  h.step();
  for (const char* c : {"100", "100.5", "101", "103"}) h.bar(c);
  EXPECT_TRUE(h.orders.empty());
  EXPECT_EQ(h.targets.back().side, model::PositionSide::kLong);
  // The same books with the open order another strategy's: the 5 held count, its 4 do not.
  Harness other;
  ASSERT_TRUE(other.start(momentum()));
  ASSERT_TRUE(other.pub->publish("portfolio.books", books("meanrev")));
  other.step();
  for (const char* c : {"100", "100.5", "101", "103"}) other.bar(c);
  ASSERT_EQ(other.orders.size(), 1U);
  EXPECT_EQ(other.orders[0].quantity, *core::Quantity::from_string("4"));  // 9 - 5
  // And the republished fill of trade 1 is not counted on top of the books.
  ASSERT_TRUE(other.pub->publish("portfolio.fill.AAA",
                                 model::Fill{.trade_id = 1,
                                             .client_order_id = 1,
                                             .symbol = kA,
                                             .side = model::OrderSide::kBuy,
                                             .quantity = *core::Quantity::from_string("5"),
                                             .price = *core::Price::from_string("103"),
                                             .ts_event = other.clock.now()}));
  other.step();
  other.bar("104");
  EXPECT_EQ(other.orders.size(), 1U);
}

// Risk denies a modify of an order execution had accepted: the order is still working, and the
// strategy goes on counting it (it used to forget it, and ordered its quantity again).
TEST(StrategyEngine, ADeniedModifyOfAnAcceptedOrderLeavesItOnItsWay) {
  Harness h;
  ASSERT_TRUE(h.start(momentum()));
  for (const char* c : {"100", "100.5", "101", "103"}) h.bar(c);
  ASSERT_EQ(h.orders.size(), 1U);
  const auto id = h.orders[0].client_order_id;
  ASSERT_TRUE(h.pub->publish(
      "order.event.AAA",
      model::OrderAccepted{
          .client_order_id = id, .symbol = kA, .venue_order_id = 1, .ts_event = h.clock.now()}));
  ASSERT_TRUE(
      h.pub->publish("order.event.AAA", model::OrderDenied{.client_order_id = id,
                                                           .symbol = kA,
                                                           .reason = model::DenyReason::kModifyRate,
                                                           .ts_event = h.clock.now()}));
  h.step();
  h.bar("104");
  EXPECT_EQ(h.orders.size(), 1U);
}

// A modify's denial comes from risk in one hop, the order's acceptance from execution in two:
// the denial, marked as a modify's, must not end the order even before it is accepted.
TEST(StrategyEngine, AModifysDenialBeforeTheAcceptanceLeavesTheOrderOnItsWay) {
  Harness h;
  ASSERT_TRUE(h.start(momentum()));
  for (const char* c : {"100", "100.5", "101", "103"}) h.bar(c);
  ASSERT_EQ(h.orders.size(), 1U);
  ASSERT_TRUE(h.pub->publish("order.event.AAA",
                             model::OrderDenied{.client_order_id = h.orders[0].client_order_id,
                                                .symbol = kA,
                                                .reason = model::DenyReason::kPriceCollar,
                                                .modify = true,
                                                .ts_event = h.clock.now()}));
  h.step();
  h.bar("104");
  EXPECT_EQ(h.orders.size(), 1U);
}

}  // namespace
}  // namespace nautilus::strategy
