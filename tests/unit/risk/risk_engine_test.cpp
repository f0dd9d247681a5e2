// The risk engine on the bus: orders pass or are denied with a published reason; the NAV's
// drawdown moves the trading state to REDUCING then HALTED by itself, halting cancels every open
// order; cancels always pass; limits that contradict themselves stop the start naming them.
#include <gtest/gtest.h>

#include "nautilus/engine/host.hpp"
#include "nautilus/engines/risk/engine.hpp"
#include "nautilus/model/market_data.hpp"
#include "nautilus/model/risk.hpp"
#include "nautilus/model/trading.hpp"
#include "support/engine_harness.hpp"

namespace nautilus::risk {
namespace {

constexpr core::UnixNanos kT0 = 1'767'623'400'000'000'000;
const core::Symbol kA = core::Symbol::from_trusted("AAA");

struct Harness : test::EngineHarness {
  std::vector<model::NewOrder> passed;
  std::vector<model::OrderDenied> denied;
  std::vector<model::CancelOrder> cancels;
  std::vector<model::RiskAlert> alerts;
  model::OrderId next = 1;

  Harness() : EngineHarness(kT0) {}
  core::Result<void> start(engine::EngineConfig cfg) {
    if (auto ok = EngineHarness::start(make_engine(), "risk", std::move(cfg)); !ok) return ok;
    collect("risk.order.*", passed);
    collect("order.event.*", denied);
    collect("risk.cancel.*", cancels);
    collect("risk.alert.*", alerts);
    return {};
  }
  void step() { EngineHarness::step(1'000'000); }
  void price(const char* px) {
    ASSERT_TRUE(pub->publish("market_data.AAA.trade",
                             model::TradeTick{.symbol = kA,
                                              .price = *core::Price::from_string(px),
                                              .size = *core::Quantity::from_string("1"),
                                              .ts_event = clock.now()}));
    step();
  }
  model::OrderId order(model::OrderSide side, const char* qty) {
    const model::OrderId id = next++;
    EXPECT_TRUE(pub->publish("order.new.AAA",
                             model::NewOrder{.client_order_id = id,
                                             .symbol = kA,
                                             .strategy = model::Name::from_trusted("t"),
                                             .side = side,
                                             .quantity = *core::Quantity::from_string(qty)}));
    step();
    return id;
  }
  void nav(const char* v) {
    ASSERT_TRUE(pub->publish(
        "portfolio.update.account",
        model::PortfolioSnapshot{.nav = *core::Price::from_string(v), .ts_event = clock.now()}));
    step();
  }
};

TEST(RiskEngine, OrdersPassOrAreDeniedWithAPublishedReason) {
  Harness h;
  engine::EngineConfig cfg;
  cfg.set("max_order_quantity", "100");
  cfg.set("max_position", "1000");
  ASSERT_TRUE(h.start(cfg));
  h.order(model::OrderSide::kBuy, "10");  // no price yet for AAA
  ASSERT_EQ(h.denied.size(), 1U);
  EXPECT_EQ(h.denied[0].reason, model::DenyReason::kUnknownSymbol);
  h.price("50");
  h.order(model::OrderSide::kBuy, "10");
  h.order(model::OrderSide::kBuy, "101");
  ASSERT_EQ(h.passed.size(), 1U);
  ASSERT_EQ(h.denied.size(), 2U);
  EXPECT_EQ(h.denied[1].reason, model::DenyReason::kMaxOrderQuantity);
  EXPECT_DOUBLE_EQ(h.denied[1].value, 101);
}

TEST(RiskEngine, DrawdownReducesThenHaltsByItselfAndHaltingCancelsOpenOrders) {
  Harness h;
  engine::EngineConfig cfg;
  cfg.set("drawdown_reduce", "0.10");
  cfg.set("drawdown_halt", "0.20");
  cfg.set("daily_loss_reduce", "0");
  cfg.set("daily_loss_halt", "0");
  ASSERT_TRUE(h.start(cfg));
  h.price("50");
  const auto open = h.order(model::OrderSide::kBuy, "10");
  ASSERT_EQ(h.passed.size(), 1U);
  h.nav("1000000");
  h.nav("1100000");  // the high-water mark
  h.nav("1000000");  // 9.1 % below it: still active
  EXPECT_TRUE(h.alerts.empty());
  h.nav("980000");  // 10.9 %: reducing
  ASSERT_EQ(h.alerts.size(), 2U);
  EXPECT_EQ(h.alerts[0].kind, model::RiskAlertKind::kDrawdownLimit);
  EXPECT_NEAR(h.alerts[0].value, 1 - 980000.0 / 1100000, 1e-12);
  EXPECT_EQ(h.alerts[1].kind, model::RiskAlertKind::kStateChange);
  EXPECT_EQ(h.alerts[1].state, model::TradingState::kReducing);
  h.order(model::OrderSide::kBuy, "1");  // would add: denied
  EXPECT_EQ(h.denied.back().reason, model::DenyReason::kReducingOnly);
  h.nav("870000");  // 20.9 %: halted, and the open order cancelled by risk
  EXPECT_EQ(h.alerts.back().state, model::TradingState::kHalted);
  ASSERT_EQ(h.cancels.size(), 1U);
  EXPECT_EQ(h.cancels[0].client_order_id, open);
  EXPECT_EQ(h.cancels[0].strategy.view(), "risk");
  h.order(model::OrderSide::kSell, "1");
  EXPECT_EQ(h.denied.back().reason, model::DenyReason::kTradingHalted);
  // A recovery does not loosen the state: that is a person's call (POST /risk/state).
  h.nav("1200000");
  EXPECT_EQ(h.alerts.back().state, model::TradingState::kHalted);
  // Cancels pass whatever the state.
  ASSERT_TRUE(
      h.pub->publish("order.cancel.AAA", model::CancelOrder{.client_order_id = 99, .symbol = kA}));
  h.step();
  EXPECT_EQ(h.cancels.back().client_order_id, 99U);
}

TEST(RiskEngine, LimitsThatContradictThemselvesStopTheStartNamingTheSetting) {
  engine::EngineConfig cfg;
  cfg.set("max_position", "50");
  cfg.set("max_order_quantity", "100");
  auto ok = Harness{}.start(cfg);
  ASSERT_FALSE(ok);
  EXPECT_NE(ok.error().message.find("risk.max_position"), std::string::npos) << ok.error().message;
  engine::EngineConfig dd;
  dd.set("drawdown_reduce", "0.3");
  dd.set("drawdown_halt", "0.2");
  auto refused = Harness{}.start(dd);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("risk.drawdown_reduce"), std::string::npos)
      << refused.error().message;
}

}  // namespace
}  // namespace nautilus::risk
