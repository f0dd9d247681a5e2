// The risk engine on the bus: orders pass or are denied with a published reason; a modify is
// passed on or denied, and counts the larger order until execution answers; the portfolio's
// books take the place of risk's own; the NAV's drawdown moves the trading state to REDUCING
// then HALTED by itself, halting cancels every open order; cancels always pass; limits that
// contradict themselves stop the start naming them.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cmath>

#include "nautilus/accounting/account.hpp"
#include "nautilus/engine/host.hpp"
#include "nautilus/engines/risk/engine.hpp"
#include "nautilus/model/market_data.hpp"
#include "nautilus/model/risk.hpp"
#include "nautilus/model/trading.hpp"
#include "nautilus/net/http.hpp"
#include "support/engine_harness.hpp"

namespace nautilus::risk {
namespace {

constexpr core::UnixNanos kT0 = 1'767'623'400'000'000'000;
const core::Symbol kA = core::Symbol::from_trusted("AAA");

struct Harness : test::EngineHarness {
  std::vector<model::NewOrder> passed;
  std::vector<model::ModifyOrder> modifies;
  std::vector<model::OrderDenied> denied;
  std::vector<model::CancelOrder> cancels;
  std::vector<model::RiskAlert> alerts;
  std::vector<model::RiskAlert> states;  // risk.state
  model::OrderId next = 1;

  Harness() : EngineHarness(kT0) {}
  core::Result<void> start(engine::EngineConfig cfg) {
    if (auto ok = EngineHarness::start(make_engine(), "risk", std::move(cfg)); !ok) return ok;
    collect("risk.order.*", passed);
    collect("risk.modify.*", modifies);
    collect("order.event.*", denied);
    collect("risk.cancel.*", cancels);
    collect("risk.alert.*", alerts);
    collect("risk.state", states);
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
  // A market order, or a limit order at `px`.
  model::OrderId order(model::OrderSide side, const char* qty, const char* px = nullptr) {
    const model::OrderId id = next++;
    EXPECT_TRUE(pub->publish(
        "order.new.AAA",
        model::NewOrder{.client_order_id = id,
                        .symbol = kA,
                        .strategy = model::Name::from_trusted("t"),
                        .side = side,
                        .type = px ? model::OrderType::kLimit : model::OrderType::kMarket,
                        .quantity = *core::Quantity::from_string(qty),
                        .price = px ? *core::Price::from_string(px) : core::Price{}}));
    step();
    return id;
  }
  void modify(model::OrderId id, const char* qty, const char* px) {
    ASSERT_TRUE(pub->publish("order.modify.AAA",
                             model::ModifyOrder{.client_order_id = id,
                                                .symbol = kA,
                                                .strategy = model::Name::from_trusted("t"),
                                                .quantity = *core::Quantity::from_string(qty),
                                                .price = *core::Price::from_string(px)}));
    step();
  }
  // An order event as the portfolio publishes it.
  template <class T>
  void event(const T& e) {
    ASSERT_TRUE(pub->publish("order.event.AAA", e));
    step();
  }
  void books(const accounting::AccountState& s) {
    ASSERT_TRUE(pub->publish("portfolio.books", accounting::to_books(s, clock.now())));
    step();
  }
  // GET /risk/orders, by client order id.
  std::map<model::OrderId, boost::json::object> open_orders() {
    net::Router r;
    host->engine_objects().front()->add_routes(r);
    net::Request q{.method = net::Method::kGet, .path = "/risk/orders"};
    const auto resp = r.dispatch(q, "");
    EXPECT_EQ(resp.status, 200) << resp.body;
    std::map<model::OrderId, boost::json::object> out;
    const boost::json::value body = boost::json::parse(resp.body);
    for (const auto& o : body.as_array()) {
      out[o.at("client_order_id").to_number<model::OrderId>()] = o.as_object();
    }
    return out;
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

TEST(RiskEngine, AnApprovedModifyIsPassedOnAndCountsTheLargerOrderUntilExecutionAppliesIt) {
  Harness h;
  engine::EngineConfig cfg;
  cfg.set("max_order_quantity", "1000");
  cfg.set("max_position", "1000");
  ASSERT_TRUE(h.start(cfg));
  h.price("50");
  const auto id = h.order(model::OrderSide::kBuy, "600", "50");
  ASSERT_EQ(h.passed.size(), 1U);
  h.modify(id, "300", "50");
  ASSERT_EQ(h.modifies.size(), 1U);
  EXPECT_EQ(h.modifies[0].client_order_id, id);
  EXPECT_EQ(h.modifies[0].quantity, *core::Quantity::from_string("300"));
  // Until execution applies it the order still counts 600: a buy of 500 would make 1,100.
  h.order(model::OrderSide::kBuy, "500");
  ASSERT_EQ(h.denied.size(), 1U);
  EXPECT_EQ(h.denied[0].reason, model::DenyReason::kMaxPosition);
  EXPECT_DOUBLE_EQ(h.denied[0].value, 1'100);
  h.event(model::OrderModified{.client_order_id = id,
                               .symbol = kA,
                               .quantity = *core::Quantity::from_string("300"),
                               .leaves_quantity = *core::Quantity::from_string("300"),
                               .price = *core::Price::from_string("50")});
  h.order(model::OrderSide::kBuy, "500");  // 300 + 500
  EXPECT_EQ(h.passed.size(), 2U);
  const auto open = h.open_orders();
  ASSERT_EQ(open.size(), 2U);
  EXPECT_DOUBLE_EQ(open.at(id).at("leaves").to_number<double>(), 300);
  EXPECT_DOUBLE_EQ(open.at(id).at("counted").to_number<double>(), 300);
  EXPECT_EQ(open.at(id).at("pending_modifies").to_number<int>(), 0);
}

TEST(RiskEngine, ADeniedOrRefusedModifyLeavesTheOrderOpenAsItWas) {
  Harness h;
  engine::EngineConfig cfg;
  cfg.set("max_order_quantity", "1000");
  cfg.set("max_position", "1000");
  ASSERT_TRUE(h.start(cfg));
  h.price("50");
  const auto id = h.order(model::OrderSide::kBuy, "600", "50");
  ASSERT_EQ(h.passed.size(), 1U);
  // Denied by risk: an order_denied for the order's id, nothing to execution.
  h.modify(id, "1001", "50");
  ASSERT_EQ(h.denied.size(), 1U);
  EXPECT_EQ(h.denied[0].client_order_id, id);
  EXPECT_EQ(h.denied[0].reason, model::DenyReason::kMaxOrderQuantity);
  EXPECT_DOUBLE_EQ(h.denied[0].value, 1'001);
  EXPECT_TRUE(h.modifies.empty());
  auto open = h.open_orders();
  ASSERT_EQ(open.size(), 1U);
  EXPECT_DOUBLE_EQ(open.at(id).at("quantity").to_number<double>(), 600);
  EXPECT_DOUBLE_EQ(open.at(id).at("leaves").to_number<double>(), 600);
  EXPECT_DOUBLE_EQ(open.at(id).at("counted").to_number<double>(), 600);
  EXPECT_EQ(open.at(id).at("pending_modifies").to_number<int>(), 0);
  // Approved by risk, refused by execution: up to 900 counts at once (a buy of 200 makes
  // 1,100), and after the refusal the order counts its 600 again (800).
  h.modify(id, "900", "50");
  ASSERT_EQ(h.modifies.size(), 1U);
  h.order(model::OrderSide::kBuy, "200");
  ASSERT_EQ(h.denied.size(), 2U);
  EXPECT_EQ(h.denied[1].reason, model::DenyReason::kMaxPosition);
  EXPECT_DOUBLE_EQ(h.denied[1].value, 1'100);
  h.event(model::OrderModifyRejected{.client_order_id = id,
                                     .symbol = kA,
                                     .reason = model::ModifyRejectReason::kNotOpen,
                                     .quantity = *core::Quantity::from_string("900"),
                                     .price = *core::Price::from_string("50")});
  open = h.open_orders();
  EXPECT_DOUBLE_EQ(open.at(id).at("counted").to_number<double>(), 600);
  EXPECT_EQ(open.at(id).at("pending_modifies").to_number<int>(), 0);
  h.order(model::OrderSide::kBuy, "200");
  EXPECT_EQ(h.passed.size(), 2U);
}

TEST(RiskEngine, ThePortfoliosBooksTakeThePlaceOfRisksOwnSoARestartStartsFromThePositions) {
  Harness h;
  engine::EngineConfig cfg;
  cfg.set("max_order_quantity", "100");
  cfg.set("max_order_notional", "4000");
  cfg.set("max_position", "1000");
  ASSERT_TRUE(h.start(cfg));
  h.price("50");
  // Risk has applied no fill; the portfolio's books hold three: long 950 bought at 50, priced
  // at 49 when the portfolio published them.
  const accounting::AccountState books{.initial_cash = accounting::money(1'000'000),
                                       .cash = accounting::money(1'000'000 - 47'500),
                                       .fills = 3,
                                       .last_trade_id = 3,
                                       .positions = {{.symbol = kA,
                                                      .quantity = 950 * core::kFixedScale,
                                                      .cost = accounting::money(47'500)}},
                                       .marks = {{kA, *core::Price::from_string("49")}}};
  h.books(books);
  h.order(model::OrderSide::kBuy, "60");  // 950 + 60
  ASSERT_EQ(h.denied.size(), 1U);
  EXPECT_EQ(h.denied[0].reason, model::DenyReason::kMaxPosition);
  EXPECT_DOUBLE_EQ(h.denied[0].value, 1'010);
  // Risk's own last price (50) stays, not the books' older 49: 90 x 50 = 4,500.
  h.order(model::OrderSide::kBuy, "90");
  ASSERT_EQ(h.denied.size(), 2U);
  EXPECT_EQ(h.denied[1].reason, model::DenyReason::kMaxOrderNotional);
  EXPECT_DOUBLE_EQ(h.denied[1].value, 4'500);
  h.order(model::OrderSide::kBuy, "50");  // 1,000: the cap
  ASSERT_EQ(h.passed.size(), 1U);
  // A fill the books hold already, delivered again, is not applied twice; books with fewer
  // fills than risk's (flat, two fills) are older and ignored; books whose arrays disagree are
  // counted as rejected. Each time the position stays 950 (+ 50 open): a buy of 10 makes 1,010.
  ASSERT_TRUE(h.pub->publish("portfolio.fill.AAA",
                             model::Fill{.trade_id = 3,
                                         .symbol = kA,
                                         .quantity = *core::Quantity::from_string("10"),
                                         .price = *core::Price::from_string("50")}));
  h.step();
  h.books({.initial_cash = accounting::money(1'000'000),
           .cash = accounting::money(1'000'000),
           .fills = 2,
           .last_trade_id = 2});
  auto broken = accounting::to_books(books, h.clock.now());
  broken.fills = 10;
  broken.quantity.clear();
  ASSERT_TRUE(h.pub->publish("portfolio.books", broken));
  h.step();
  h.order(model::OrderSide::kBuy, "10");
  ASSERT_EQ(h.denied.size(), 3U);
  EXPECT_EQ(h.denied[2].reason, model::DenyReason::kMaxPosition);
  EXPECT_DOUBLE_EQ(h.denied[2].value, 1'010);
  boost::json::object health;
  h.host->engine_objects().front()->add_health_fields(health);
  EXPECT_EQ(health["rejected"].to_number<int>(), 1);
}

TEST(RiskEngine, OpenOrdersInThePortfoliosBooksCountUntilTheyCloseAndDoNotComeBack) {
  Harness h;
  engine::EngineConfig cfg;
  cfg.set("max_order_quantity", "1000");
  cfg.set("max_position", "1000");
  ASSERT_TRUE(h.start(cfg));
  h.price("50");
  // Flat, with a buy of 600 at 50 open at execution that this risk never passed (id 900).
  auto books = accounting::to_books(
      {.initial_cash = accounting::money(1'000'000), .cash = accounting::money(1'000'000)},
      h.clock.now());
  books.order_ids = {900};
  books.order_symbols = {kA};
  books.order_strategies = {model::Name::from_trusted("t")};
  books.order_leaves = {600 * core::kFixedScale};
  books.order_filled = {0};
  books.order_prices = {*core::Price::from_string("50")};
  ASSERT_TRUE(h.pub->publish("portfolio.books", books));
  h.step();
  h.order(model::OrderSide::kBuy, "500");  // 600 + 500
  ASSERT_EQ(h.denied.size(), 1U);
  EXPECT_EQ(h.denied[0].reason, model::DenyReason::kMaxPosition);
  EXPECT_DOUBLE_EQ(h.denied[0].value, 1'100);
  EXPECT_EQ(h.open_orders().count(900), 1U);
  // Cancelled; a books message published before the cancel still lists it, and must not
  // bring it back.
  h.event(model::OrderCancelled{.client_order_id = 900,
                                .symbol = kA,
                                .leaves_quantity = *core::Quantity::from_string("600")});
  ASSERT_TRUE(h.pub->publish("portfolio.books", books));
  h.step();
  EXPECT_TRUE(h.open_orders().empty());
  h.order(model::OrderSide::kBuy, "500");
  EXPECT_EQ(h.passed.size(), 1U);
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

// A dashboard that connects later gets risk.state's latest value: so it is published at start,
// not only when the state first changes.
TEST(RiskEngine, TheStateInForceIsPublishedAtStartAndAfterEveryChange) {
  Harness h;
  engine::EngineConfig cfg;
  cfg.set("drawdown_reduce", "0.10");
  cfg.set("drawdown_halt", "0.20");
  cfg.set("daily_loss_reduce", "0");
  cfg.set("daily_loss_halt", "0");
  ASSERT_TRUE(h.start(cfg));
  h.step();
  ASSERT_EQ(h.states.size(), 1U);
  EXPECT_EQ(h.states[0].state, model::TradingState::kActive);
  EXPECT_EQ(h.states[0].kind, model::RiskAlertKind::kStateChange);
  h.nav("1000000");
  h.nav("1000000");
  EXPECT_EQ(h.states.size(), 1U) << "nothing changed";
  h.nav("850000");  // 15 %: reducing
  ASSERT_EQ(h.states.size(), 2U);
  EXPECT_EQ(h.states[1].state, model::TradingState::kReducing);
  h.nav("790000");  // 21 %: halted
  ASSERT_EQ(h.states.size(), 3U);
  EXPECT_EQ(h.states[2].state, model::TradingState::kHalted);
  EXPECT_TRUE(std::isfinite(h.states[2].value) && std::isfinite(h.states[2].limit));
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
