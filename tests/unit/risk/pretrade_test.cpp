// The pre-trade gate: each check denies with its own reason and the value that broke the limit;
// open orders count toward the position; the trading state and the throttles; limits that
// contradict themselves are refused naming the setting.
#include "nautilus/engines/risk/pretrade.hpp"

#include <gtest/gtest.h>

namespace nautilus::risk {
namespace {

using model::DenyReason;
using model::OrderSide;
using model::OrderType;

const core::Symbol kA = core::Symbol::from_trusted("AAA");
const core::Symbol kB = core::Symbol::from_trusted("BBB");
const core::Symbol kX = core::Symbol::from_trusted("XXX");  // no price yet

std::int64_t raw(double units) { return static_cast<std::int64_t>(units * 1e9); }

Limits limits() {
  Limits l;
  l.max_order_quantity = raw(1'000);
  l.max_order_notional = raw(50'000);
  l.max_position = raw(2'000);
  l.max_gross_exposure = raw(200'000);
  l.max_net_exposure = raw(150'000);
  l.collar = 0.05;
  l.restricted = {kB};
  return l;
}

struct Fixture {
  core::SimulatedClock clock{1'000'000'000};
  accounting::Account books{accounting::money(1'000'000)};
  PreTrade gate{limits(), clock};
  model::OrderId next = 1;

  Fixture() {
    books.mark(kA, *core::Price::from_string("40"));
    books.mark(kB, *core::Price::from_string("10"));
  }
  model::NewOrder order(OrderSide side, const char* qty, const char* px = nullptr,
                        core::Symbol s = kA) {
    return {.client_order_id = next++,
            .symbol = s,
            .strategy = model::Name::from_trusted("t"),
            .side = side,
            .type = px ? OrderType::kLimit : OrderType::kMarket,
            .quantity = *core::Quantity::from_string(qty),
            .price = px ? *core::Price::from_string(px) : core::Price{}};
  }
  std::optional<DenyReason> reason(const model::NewOrder& o) {
    auto d = gate.check(o, books);
    return d ? std::optional(d->reason) : std::nullopt;
  }
  void fill(const model::NewOrder& o, std::uint64_t trade_id) {
    ASSERT_TRUE(books.apply({.trade_id = trade_id,
                             .client_order_id = o.client_order_id,
                             .symbol = o.symbol,
                             .side = o.side,
                             .quantity = o.quantity,
                             .price = *books.mark_of(o.symbol)}));
    gate.on_fill(o.client_order_id, o.quantity.raw());
  }
};

TEST(PreTrade, EachCheckDeniesWithItsOwnReason) {
  Fixture f;
  auto zero = f.order(OrderSide::kBuy, "1");
  zero.quantity = core::Quantity{};
  EXPECT_EQ(f.reason(zero), DenyReason::kInvalidQuantity);
  EXPECT_EQ(f.reason(f.order(OrderSide::kBuy, "1", "-1")), DenyReason::kInvalidPrice);
  EXPECT_EQ(f.reason(f.order(OrderSide::kBuy, "1", nullptr, kB)), DenyReason::kRestrictedSymbol);
  EXPECT_EQ(f.reason(f.order(OrderSide::kBuy, "1", nullptr, kX)), DenyReason::kUnknownSymbol);
  // 40 x 1.06 is outside a 5 % collar, 40 x 1.04 inside.
  EXPECT_EQ(f.reason(f.order(OrderSide::kBuy, "1", "42.4")), DenyReason::kPriceCollar);
  EXPECT_EQ(f.reason(f.order(OrderSide::kBuy, "1", "41.6")), std::nullopt);
  EXPECT_EQ(f.reason(f.order(OrderSide::kBuy, "1001")), DenyReason::kMaxOrderQuantity);
  // 1,000 x 40 = 40,000 passes the 50,000 notional; at a limit of 41.6 too (41,600).
  auto big = f.order(OrderSide::kSell, "1000");
  EXPECT_EQ(f.reason(big), std::nullopt);
  // An id seen before is refused whatever the order.
  auto dup = f.order(OrderSide::kBuy, "1");
  dup.client_order_id = big.client_order_id;
  EXPECT_EQ(f.reason(dup), DenyReason::kDuplicateOrderId);
  EXPECT_EQ(f.gate.passed(), 2U);
  EXPECT_EQ(f.gate.denied(), 7U);
}

TEST(PreTrade, ADenialCarriesTheValueThatBrokeTheLimit) {
  Fixture f;
  f.books.mark(kA, *core::Price::from_string("60"));
  auto d = f.gate.check(f.order(OrderSide::kBuy, "900"), f.books);  // 54,000 > 50,000
  ASSERT_TRUE(d);
  EXPECT_EQ(d->reason, DenyReason::kMaxOrderNotional);
  EXPECT_DOUBLE_EQ(d->value, 54'000);
  EXPECT_DOUBLE_EQ(d->limit, 50'000);
  EXPECT_EQ(d->ts_event, f.clock.now());
}

TEST(PreTrade, OpenOrdersCountTowardThePositionUntilFilledOrCancelled) {
  Fixture f;
  // Max position 2,000: two open buys of 1,000 fill it; a third is denied with 3,000.
  auto a = f.order(OrderSide::kBuy, "1000");
  auto b = f.order(OrderSide::kBuy, "1000");
  ASSERT_EQ(f.reason(a), std::nullopt);
  ASSERT_EQ(f.reason(b), std::nullopt);
  auto d = f.gate.check(f.order(OrderSide::kBuy, "1000"), f.books);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->reason, DenyReason::kMaxPosition);
  EXPECT_DOUBLE_EQ(d->value, 3'000);
  // One fills (position 1,000, one open 1,000), the other is cancelled: room for 1,000 again.
  f.fill(a, 1);
  f.gate.on_closed(b.client_order_id);
  EXPECT_EQ(f.reason(f.order(OrderSide::kBuy, "1000")), std::nullopt);
  EXPECT_EQ(f.gate.open_orders().size(), 1U);
  // A sell that reduces always passes the position cap, even from a position above it: fill
  // the open buy (2,000 long), lower the cap to 1,500, and sell 100 (1,900 after, still above).
  auto open_buy = f.gate.open_orders().begin();
  ASSERT_TRUE(f.books.apply({.trade_id = 2,
                             .client_order_id = open_buy->first,
                             .symbol = kA,
                             .side = OrderSide::kBuy,
                             .quantity = *core::Quantity::from_string("1000"),
                             .price = *f.books.mark_of(kA)}));
  f.gate.on_fill(open_buy->first, raw(1000));
  Limits l = limits();
  l.max_position = raw(1'500);
  ASSERT_TRUE(f.gate.set_limits(l));
  EXPECT_EQ(f.reason(f.order(OrderSide::kBuy, "1")), DenyReason::kMaxPosition);
  EXPECT_EQ(f.reason(f.order(OrderSide::kSell, "100")), std::nullopt);
}

TEST(PreTrade, ExposureCapsCountThePortfolioAfterTheOrder) {
  Fixture f;
  Limits l = limits();
  l.max_gross_exposure = raw(60'000);
  l.max_net_exposure = raw(30'000);
  l.max_order_notional = raw(40'000);
  ASSERT_TRUE(f.gate.set_limits(l));
  auto a = f.order(OrderSide::kBuy, "700");  // 28,000 net long
  ASSERT_EQ(f.reason(a), std::nullopt);
  f.fill(a, 1);
  // Another 100 long: net 32,000 > 30,000.
  EXPECT_EQ(f.reason(f.order(OrderSide::kBuy, "100")), DenyReason::kMaxNetExposure);
  // A short of 1,000 C at 40: the net falls, but the gross would be 68,000.
  const core::Symbol kC = core::Symbol::from_trusted("CCC");
  f.books.mark(kC, *core::Price::from_string("40"));
  EXPECT_EQ(f.reason(f.order(OrderSide::kSell, "1000", nullptr, kC)),
            DenyReason::kMaxGrossExposure);
  EXPECT_EQ(f.reason(f.order(OrderSide::kSell, "700", nullptr, kC)), std::nullopt);  // 56,000
}

TEST(PreTrade, ReducingPassesOnlyReductionsAndHaltedPassesNothing) {
  Fixture f;
  auto a = f.order(OrderSide::kBuy, "500");
  ASSERT_EQ(f.reason(a), std::nullopt);
  f.fill(a, 1);
  f.gate.set_state(model::TradingState::kReducing);
  EXPECT_EQ(f.reason(f.order(OrderSide::kBuy, "1")), DenyReason::kReducingOnly);
  EXPECT_EQ(f.reason(f.order(OrderSide::kSell, "600")), DenyReason::kReducingOnly);  // flips
  EXPECT_EQ(f.reason(f.order(OrderSide::kSell, "500")), std::nullopt);
  f.gate.set_state(model::TradingState::kHalted);
  EXPECT_EQ(f.reason(f.order(OrderSide::kSell, "1")), DenyReason::kTradingHalted);
}

TEST(PreTrade, AReduceOnlyOrderThatWouldAddOrFlipIsDenied) {
  Fixture f;
  auto a = f.order(OrderSide::kBuy, "100");
  ASSERT_EQ(f.reason(a), std::nullopt);
  f.fill(a, 1);
  auto add = f.order(OrderSide::kBuy, "10");
  add.reduce_only = true;
  EXPECT_EQ(f.reason(add), DenyReason::kReduceOnly);
  auto flip = f.order(OrderSide::kSell, "150");
  flip.reduce_only = true;
  EXPECT_EQ(f.reason(flip), DenyReason::kReduceOnly);
  auto reduce = f.order(OrderSide::kSell, "100");
  reduce.reduce_only = true;
  EXPECT_EQ(f.reason(reduce), std::nullopt);
  // With that sell open, another reduce-only sell would flip the position once both fill.
  auto more = f.order(OrderSide::kSell, "1");
  more.reduce_only = true;
  EXPECT_EQ(f.reason(more), DenyReason::kReduceOnly);
}

TEST(PreTrade, TheSubmitThrottleGrantsAHundredASecondOnTheClock) {
  Fixture f;
  Limits l = limits();
  l.max_position = 0;  // only the throttle
  l.max_gross_exposure = l.max_net_exposure = 0;
  ASSERT_TRUE(f.gate.set_limits(l));
  for (int i = 0; i < 100; ++i) ASSERT_EQ(f.reason(f.order(OrderSide::kBuy, "1")), std::nullopt);
  EXPECT_EQ(f.reason(f.order(OrderSide::kBuy, "1")), DenyReason::kOrderRate);
  // A denied order spends no token: one bad order now does not eat the next good one.
  ASSERT_TRUE(f.clock.set(f.clock.now() + 10'000'000));  // 10 ms: one token
  EXPECT_EQ(f.reason(f.order(OrderSide::kBuy, "2000")), DenyReason::kMaxOrderQuantity);
  EXPECT_EQ(f.reason(f.order(OrderSide::kBuy, "1")), std::nullopt);
  EXPECT_EQ(f.reason(f.order(OrderSide::kBuy, "1")), DenyReason::kOrderRate);
}

TEST(PreTrade, AModifyIsCheckedAsAnOrderAndThrottledOnItsOwn) {
  Fixture f;
  auto o = f.order(OrderSide::kBuy, "100", "40");
  ASSERT_EQ(f.reason(o), std::nullopt);
  const auto modify = [&](const char* qty, const char* px, model::OrderId id) {
    auto d = f.gate.check_modify({.client_order_id = id,
                                  .symbol = kA,
                                  .quantity = *core::Quantity::from_string(qty),
                                  .price = *core::Price::from_string(px)},
                                 f.books);
    return d ? std::optional(d->reason) : std::nullopt;
  };
  EXPECT_EQ(modify("100", "40", 999), DenyReason::kUnknownOrder);
  EXPECT_EQ(modify("100", "50", o.client_order_id), DenyReason::kPriceCollar);
  EXPECT_EQ(modify("1001", "40", o.client_order_id), DenyReason::kMaxOrderQuantity);
  EXPECT_EQ(modify("200", "40.5", o.client_order_id), std::nullopt);
  EXPECT_EQ(f.gate.open_orders().at(o.client_order_id).leaves, raw(200));
  Limits l = limits();
  l.modifies_per_s = 2;
  ASSERT_TRUE(f.gate.set_limits(l));
  EXPECT_EQ(modify("150", "40", o.client_order_id), std::nullopt);
  EXPECT_EQ(modify("140", "40", o.client_order_id), std::nullopt);
  EXPECT_EQ(modify("130", "40", o.client_order_id), DenyReason::kModifyRate);
}

TEST(PreTrade, LimitsThatContradictThemselvesAreRefusedNamingTheSetting) {
  const auto refused = [](Limits l) {
    auto ok = l.validate();
    return ok ? std::string() : ok.error().message;
  };
  Limits l = limits();
  EXPECT_EQ(refused(l), "");
  l.max_position = raw(500);  // below a max order of 1,000
  EXPECT_NE(refused(l).find("risk.max_position"), std::string::npos) << refused(l);
  l = limits();
  l.max_order_notional = -raw(1);
  EXPECT_NE(refused(l).find("risk.max_order_notional"), std::string::npos) << refused(l);
  l = limits();
  l.max_net_exposure = raw(300'000);  // above gross
  EXPECT_NE(refused(l).find("risk.max_net_exposure"), std::string::npos) << refused(l);
  l = limits();
  l.collar = 1.5;
  EXPECT_NE(refused(l).find("risk.collar"), std::string::npos) << refused(l);
  l = limits();
  l.orders_per_s = 0;
  EXPECT_NE(refused(l).find("risk.orders_per_s"), std::string::npos) << refused(l);
}

}  // namespace
}  // namespace nautilus::risk
