// The pre-trade gate: each check denies with its own reason and the value that broke the limit;
// open orders count toward the position, and on every symbol toward the exposure caps; a
// pending modify counts the larger order until execution answers; the trading state and the
// throttles; the window of seen ids; limits that contradict themselves are refused naming the
// setting.
#include "nautilus/engines/risk/pretrade.hpp"

#include <gtest/gtest.h>

#include <deque>
#include <random>
#include <unordered_set>
#include <vector>

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
  std::optional<DenyReason> modify(model::OrderId id, const char* qty, const char* px) {
    auto d = gate.check_modify({.client_order_id = id,
                                .symbol = kA,
                                .quantity = *core::Quantity::from_string(qty),
                                .price = *core::Price::from_string(px)},
                               books);
    return d ? std::optional(d->reason) : std::nullopt;
  }
  // Execution's answer to the oldest pending modify of `id` (on AAA).
  void modified(model::OrderId id, const char* qty, const char* leaves, const char* px) {
    gate.on_modified({.client_order_id = id,
                      .symbol = kA,
                      .quantity = *core::Quantity::from_string(qty),
                      .leaves_quantity = *core::Quantity::from_string(leaves),
                      .price = *core::Price::from_string(px)});
  }
  const OpenOrder& open(const model::NewOrder& o) {
    return gate.open_orders().at(o.client_order_id);
  }
  const OpenOrder& open_id(model::OrderId id) { return gate.open_orders().at(id); }
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
  const auto id = o.client_order_id;
  EXPECT_EQ(f.modify(999, "100", "40"), DenyReason::kUnknownOrder);
  EXPECT_EQ(f.modify(id, "100", "50"), DenyReason::kPriceCollar);
  EXPECT_EQ(f.modify(id, "1001", "40"), DenyReason::kMaxOrderQuantity);
  EXPECT_EQ(f.modify(id, "200", "40.5"), std::nullopt);
  // Approved is not applied: the order is as execution has it, and counts the new size too.
  EXPECT_EQ(f.open(o).leaves, raw(100));
  EXPECT_EQ(f.open(o).counted, raw(200));
  Limits l = limits();
  l.modifies_per_s = 2;
  ASSERT_TRUE(f.gate.set_limits(l));
  EXPECT_EQ(f.modify(id, "150", "40"), std::nullopt);
  EXPECT_EQ(f.modify(id, "140", "40"), std::nullopt);
  EXPECT_EQ(f.modify(id, "130", "40"), DenyReason::kModifyRate);
}

// Ten symbols at 10 each (S0 .. S9, and S10 spare), with the restricted list emptied.
std::vector<core::Symbol> ten_symbols(Fixture& f) {
  std::vector<core::Symbol> out;
  for (const char* name : {"S0", "S1", "S2", "S3", "S4", "S5", "S6", "S7", "S8", "S9", "S10"}) {
    out.push_back(core::Symbol::from_trusted(name));
    f.books.mark(out.back(), *core::Price::from_string("10"));
  }
  return out;
}

TEST(PreTrade, OpenOrdersOnEverySymbolCountTowardTheGrossCap) {
  Fixture f;
  Limits l = limits();
  l.max_gross_exposure = raw(100'000);
  l.max_net_exposure = raw(100'000);
  l.max_order_notional = raw(30'000);
  ASSERT_TRUE(f.gate.set_limits(l));
  const auto s = ten_symbols(f);
  // One order of 1,000 x 10 = 10,000 on each of ten symbols, buys and sells in turn (the net
  // stays within 50,000): together they could make a gross of 100,000, the cap, so all pass.
  std::vector<model::NewOrder> open;
  for (int i = 0; i < 10; ++i) {
    open.push_back(f.order(i % 2 == 0 ? OrderSide::kBuy : OrderSide::kSell, "1000", nullptr,
                           s[static_cast<std::size_t>(i)]));
    ASSERT_EQ(f.reason(open.back()), std::nullopt) << i;
  }
  // An eleventh of 100 x 10 on a symbol of its own would pass alone (1,000); with the ten it
  // is 101,000.
  auto d = f.gate.check(f.order(OrderSide::kBuy, "100", nullptr, s[10]), f.books);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->reason, DenyReason::kMaxGrossExposure);
  EXPECT_DOUBLE_EQ(d->value, 101'000);
  // One of the ten cancelled: 90,000 + 1,000.
  f.gate.on_closed(open[1].client_order_id);
  EXPECT_EQ(f.reason(f.order(OrderSide::kBuy, "100", nullptr, s[10])), std::nullopt);
}

TEST(PreTrade, OpenOrdersOnEverySymbolCountTowardTheNetCap) {
  Fixture f;
  Limits l = limits();
  l.max_gross_exposure = raw(200'000);
  l.max_net_exposure = raw(50'000);
  l.max_order_notional = raw(30'000);
  ASSERT_TRUE(f.gate.set_limits(l));
  const auto s = ten_symbols(f);
  // Buys of 1,000 on four symbols, the first a limit at 10.2 (counted at its limit, 10,200),
  // the others market orders at the last price 10: 40,200 if all fill.
  auto limit = f.order(OrderSide::kBuy, "1000", "10.2", s[0]);
  ASSERT_EQ(f.reason(limit), std::nullopt);
  for (std::size_t i = 1; i < 4; ++i) {
    ASSERT_EQ(f.reason(f.order(OrderSide::kBuy, "1000", nullptr, s[i])), std::nullopt) << i;
  }
  EXPECT_EQ(f.gate.open_buy_value(), accounting::money(40'200));
  auto d = f.gate.check(f.order(OrderSide::kBuy, "1000", nullptr, s[4]), f.books);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->reason, DenyReason::kMaxNetExposure);
  EXPECT_DOUBLE_EQ(d->value, 50'200);
  // A sell's worst case is the sells alone (-10,000): it passes, and makes no room for buys,
  // since it may never fill.
  ASSERT_EQ(f.reason(f.order(OrderSide::kSell, "1000", nullptr, s[4])), std::nullopt);
  EXPECT_EQ(f.reason(f.order(OrderSide::kBuy, "1000", nullptr, s[5])), DenyReason::kMaxNetExposure);
  ASSERT_EQ(f.reason(f.order(OrderSide::kBuy, "900", nullptr, s[5])), std::nullopt);  // 49,200
  // The limit order fills at 10: it counts as the position, 10,000 at the last price, no more
  // at its limit, so 10,000 + 30,000 + 9,000 + 1,000 = 50,000 fits.
  f.fill(limit, 1);
  EXPECT_EQ(f.reason(f.order(OrderSide::kBuy, "100", nullptr, s[6])), std::nullopt);
  EXPECT_EQ(f.reason(f.order(OrderSide::kBuy, "1", nullptr, s[6])), DenyReason::kMaxNetExposure);
}

TEST(PreTrade, APendingModifyCountsTheLargerOrderUntilExecutionAppliesIt) {
  Fixture f;  // max position 2,000
  auto held = f.order(OrderSide::kBuy, "1000");
  ASSERT_EQ(f.reason(held), std::nullopt);
  f.fill(held, 1);  // long 1,000
  auto o = f.order(OrderSide::kBuy, "800", "40");
  ASSERT_EQ(f.reason(o), std::nullopt);
  // Down to 300 at 41: execution may not have applied it yet, so the order counts its 800, at
  // the higher limit: 800 x 41 = 32,800.
  ASSERT_EQ(f.modify(o.client_order_id, "300", "41"), std::nullopt);
  EXPECT_EQ(f.open(o).leaves, raw(800));
  EXPECT_EQ(f.open(o).counted, raw(800));
  EXPECT_EQ(f.open(o).counted_value, accounting::money(32'800));
  EXPECT_EQ(f.open(o).pending.size(), 1U);
  auto d = f.gate.check(f.order(OrderSide::kBuy, "300"), f.books);  // 1,000 + 800 + 300
  ASSERT_TRUE(d);
  EXPECT_EQ(d->reason, DenyReason::kMaxPosition);
  EXPECT_DOUBLE_EQ(d->value, 2'100);
  // Applied: 300 at 41 = 12,300, and a buy of 300 makes 1,600.
  f.modified(o.client_order_id, "300", "300", "41");
  EXPECT_EQ(f.open(o).quantity, raw(300));
  EXPECT_EQ(f.open(o).leaves, raw(300));
  EXPECT_EQ(f.open(o).price, *core::Price::from_string("41"));
  EXPECT_EQ(f.open(o).counted, raw(300));
  EXPECT_EQ(f.open(o).counted_value, accounting::money(12'300));
  EXPECT_TRUE(f.open(o).pending.empty());
  EXPECT_EQ(f.reason(f.order(OrderSide::kBuy, "300")), std::nullopt);
  EXPECT_EQ(f.gate.open_buy_value(), accounting::money(12'300 + 12'000));
}

TEST(PreTrade, AModifyExecutionRefusesLeavesTheOrderAsItWas) {
  Fixture f;
  auto held = f.order(OrderSide::kBuy, "1000");
  ASSERT_EQ(f.reason(held), std::nullopt);
  f.fill(held, 1);
  auto o = f.order(OrderSide::kBuy, "800", "40");
  ASSERT_EQ(f.reason(o), std::nullopt);
  // Up to 1,000: counted at once (1,000 + 1,000 is the cap), so a buy of 100 would make 2,100.
  ASSERT_EQ(f.modify(o.client_order_id, "1000", "40"), std::nullopt);
  EXPECT_EQ(f.open(o).counted, raw(1000));
  EXPECT_EQ(f.reason(f.order(OrderSide::kBuy, "100")), DenyReason::kMaxPosition);
  f.gate.on_modify_rejected({.client_order_id = o.client_order_id,
                             .symbol = kA,
                             .reason = model::ModifyRejectReason::kBelowFilled,
                             .quantity = *core::Quantity::from_string("1000"),
                             .price = *core::Price::from_string("40")});
  EXPECT_EQ(f.open(o).quantity, raw(800));
  EXPECT_EQ(f.open(o).leaves, raw(800));
  EXPECT_EQ(f.open(o).price, *core::Price::from_string("40"));
  EXPECT_EQ(f.open(o).counted, raw(800));
  EXPECT_EQ(f.open(o).counted_value, accounting::money(32'000));
  EXPECT_TRUE(f.open(o).pending.empty());
  EXPECT_EQ(f.reason(f.order(OrderSide::kBuy, "100")), std::nullopt);  // 1,900
  EXPECT_EQ(f.gate.open_buy_value(), accounting::money(32'000 + 4'000));
}

TEST(PreTrade, FillsAndClosesWhileAModifyIsPendingKeepTheCountsRight) {
  Fixture f;
  // Up from 800 to 1,000, and execution applied it and filled 900 before its answer came:
  // more than the 800 risk knew of. The order stays open for the last 100.
  auto o = f.order(OrderSide::kBuy, "800", "40");
  ASSERT_EQ(f.reason(o), std::nullopt);
  ASSERT_EQ(f.modify(o.client_order_id, "1000", "40"), std::nullopt);
  f.gate.on_fill(o.client_order_id, raw(900));
  EXPECT_EQ(f.open(o).filled, raw(900));
  EXPECT_EQ(f.open(o).leaves, 0);
  EXPECT_EQ(f.open(o).counted, raw(100));
  EXPECT_EQ(f.open(o).counted_value, accounting::money(4'000));
  f.modified(o.client_order_id, "1000", "100", "40");
  EXPECT_EQ(f.open(o).leaves, raw(100));
  EXPECT_EQ(f.open(o).counted, raw(100));
  f.gate.on_fill(o.client_order_id, raw(100));
  EXPECT_TRUE(f.gate.open_orders().empty());
  // Down from 500 to 200, and the order filled in full before the modify reached execution
  // (which will refuse it): nothing is left to fill either way, so it closes at once.
  auto p = f.order(OrderSide::kBuy, "500", "40");
  ASSERT_EQ(f.reason(p), std::nullopt);
  ASSERT_EQ(f.modify(p.client_order_id, "200", "40"), std::nullopt);
  f.gate.on_fill(p.client_order_id, raw(500));
  EXPECT_TRUE(f.gate.open_orders().empty());
  f.gate.on_modify_rejected({.client_order_id = p.client_order_id,
                             .symbol = kA,
                             .quantity = *core::Quantity::from_string("200"),
                             .price = *core::Price::from_string("40")});
  EXPECT_TRUE(f.gate.open_orders().empty());  // closed, and the refusal does not reopen it
  // Cancelled with a larger modify pending: all it counted goes.
  auto q = f.order(OrderSide::kSell, "500", "40");
  ASSERT_EQ(f.reason(q), std::nullopt);
  ASSERT_EQ(f.modify(q.client_order_id, "700", "40.5"), std::nullopt);
  EXPECT_EQ(f.gate.open_sell_value(), accounting::money(28'350));  // 700 x 40.5
  f.gate.on_closed(q.client_order_id);
  EXPECT_TRUE(f.gate.open_orders().empty());
  EXPECT_EQ(f.gate.open_buy_value(), 0);
  EXPECT_EQ(f.gate.open_sell_value(), 0);
}

TEST(PreTrade, ASecondModifyWhileOneIsPendingJoinsItAndEachAnswerSettlesTheOldest) {
  Fixture f;
  auto o = f.order(OrderSide::kBuy, "800", "40");
  ASSERT_EQ(f.reason(o), std::nullopt);
  ASSERT_EQ(f.modify(o.client_order_id, "1000", "40"), std::nullopt);
  // Execution may have applied the 1,000 already: the 300 does not bring the count down.
  ASSERT_EQ(f.modify(o.client_order_id, "300", "40"), std::nullopt);
  EXPECT_EQ(f.open(o).counted, raw(1000));
  EXPECT_EQ(f.open(o).pending.size(), 2U);
  f.modified(o.client_order_id, "1000", "1000", "40");  // the first: 1,000, the 300 pending
  EXPECT_EQ(f.open(o).leaves, raw(1000));
  EXPECT_EQ(f.open(o).counted, raw(1000));
  f.modified(o.client_order_id, "300", "300", "40");  // the second
  EXPECT_EQ(f.open(o).counted, raw(300));
  EXPECT_EQ(f.gate.open_buy_value(), accounting::money(12'000));
}

TEST(PreTrade, AnOrderRestoredFromThePortfoliosBooksCountsUnlessRiskHasSeenItsId) {
  Fixture f;  // max position 2,000
  // Open at execution before risk started: 1,500 to buy at a limit of 40 (60,000), and a
  // market sell of 100 valued at the last price 40.
  const auto t = model::Name::from_trusted("t");
  ASSERT_TRUE(f.gate.restore(500, kA, t, OrderSide::kBuy, raw(1500), 0,
                             *core::Price::from_string("40"), *f.books.mark_of(kA)));
  ASSERT_TRUE(f.gate.restore(501, kA, t, OrderSide::kSell, raw(100), 0, core::Price{},
                             *f.books.mark_of(kA)));
  EXPECT_EQ(f.gate.open_buy_value(), accounting::money(60'000));
  EXPECT_EQ(f.gate.open_sell_value(), accounting::money(4'000));
  auto d = f.gate.check(f.order(OrderSide::kBuy, "600"), f.books);  // 1,500 + 600
  ASSERT_TRUE(d);
  EXPECT_EQ(d->reason, DenyReason::kMaxPosition);
  EXPECT_DOUBLE_EQ(d->value, 2'100);
  // Its id is taken, and a later books message that still lists it changes nothing.
  auto reuse = f.order(OrderSide::kBuy, "1");
  reuse.client_order_id = 500;
  EXPECT_EQ(f.reason(reuse), DenyReason::kDuplicateOrderId);
  f.gate.on_closed(500);
  EXPECT_FALSE(f.gate.restore(500, kA, t, OrderSide::kBuy, raw(1500), 0,
                              *core::Price::from_string("40"), *f.books.mark_of(kA)));
  EXPECT_EQ(f.reason(f.order(OrderSide::kBuy, "600")), std::nullopt);
}

// A restored order knows what filled of it: a modify's total is checked against that, and
// counts only what it leaves open.
TEST(PreTrade, ARestoredPartlyFilledOrderCountsOnlyWhatAModifyLeavesOpen) {
  Fixture f;  // max position 2,000
  const auto t = model::Name::from_trusted("t");
  ASSERT_TRUE(f.gate.restore(600, kA, t, OrderSide::kBuy, raw(400), raw(600),
                             *core::Price::from_string("40"), *f.books.mark_of(kA)));
  EXPECT_EQ(f.open_id(600).quantity, raw(1000));
  EXPECT_EQ(f.open_id(600).filled, raw(600));
  const auto below = f.gate.check_modify({.client_order_id = 600,
                                          .symbol = kA,
                                          .quantity = *core::Quantity::from_string("600"),
                                          .price = *core::Price::from_string("40")},
                                         f.books);
  ASSERT_TRUE(below);
  EXPECT_EQ(below->reason, DenyReason::kInvalidQuantity);
  EXPECT_TRUE(below->modify);  // a modify's denial: the order lives on
  // A new limit on the same total: 400 still open, which is all it counts (without what filled,
  // the whole 1,000 would count as open).
  ASSERT_EQ(f.modify(600, "1000", "39"), std::nullopt);
  EXPECT_EQ(f.open_id(600).counted, raw(400));
}

// A restarted portfolio publishes its last batch again: an answer repeated must not settle a
// later modify that is still pending.
TEST(PreTrade, ARepeatedModifyAnswerDoesNotSettleALaterModify) {
  Fixture f;
  auto o = f.order(OrderSide::kBuy, "500", "40");
  ASSERT_EQ(f.reason(o), std::nullopt);
  ASSERT_EQ(f.modify(o.client_order_id, "600", "40"), std::nullopt);
  f.modified(o.client_order_id, "600", "600", "40");
  ASSERT_EQ(f.modify(o.client_order_id, "900", "40"), std::nullopt);
  f.modified(o.client_order_id, "600", "600", "40");  // the repeat
  ASSERT_EQ(f.open(o).pending.size(), 1U);
  EXPECT_EQ(f.open(o).counted, raw(900));
  f.gate.on_modify_rejected({.client_order_id = o.client_order_id,
                             .symbol = kA,
                             .quantity = *core::Quantity::from_string("600"),
                             .price = *core::Price::from_string("40")});  // about no pending one
  ASSERT_EQ(f.open(o).pending.size(), 1U);
  f.modified(o.client_order_id, "900", "900", "40");
  EXPECT_TRUE(f.open(o).pending.empty());
  EXPECT_EQ(f.open(o).counted, raw(900));
}

TEST(PreTrade, TheSeenIdsWindowForgetsTheOldestButNotTheIdOfAnOpenOrder) {
  Fixture f;
  auto first = f.order(OrderSide::kBuy, "1");  // id 1, stays open
  ASSERT_EQ(f.reason(first), std::nullopt);
  // Ids 2 to kSeenIdsKept + 2, each denied for its zero quantity: the window holds the latest
  // kSeenIdsKept, 3 onwards, and has forgotten 1 and 2.
  auto zero = f.order(OrderSide::kBuy, "1");
  zero.quantity = core::Quantity{};
  std::size_t other = 0;
  for (model::OrderId id = 2; id <= PreTrade::kSeenIdsKept + 2; ++id) {
    zero.client_order_id = id;
    if (f.reason(zero) != DenyReason::kInvalidQuantity) ++other;
  }
  EXPECT_EQ(other, 0U);
  zero.client_order_id = 3;
  EXPECT_EQ(f.reason(zero), DenyReason::kDuplicateOrderId);
  zero.client_order_id = 2;  // forgotten: past the id check, denied for what it is
  EXPECT_EQ(f.reason(zero), DenyReason::kInvalidQuantity);
  // Forgotten too, but its order is open: a second order under it is still refused.
  auto again = f.order(OrderSide::kBuy, "1");
  again.client_order_id = first.client_order_id;
  EXPECT_EQ(f.reason(again), DenyReason::kDuplicateOrderId);
}

TEST(SeenIds, AnswersAsASetWithAQueueOfTheLatestIdsWouldOverRandomIds) {
  for (const std::size_t capacity : {1UL, 2UL, 5UL, 64UL}) {
    SeenIds window(capacity);
    std::unordered_set<std::uint64_t> set;
    std::deque<std::uint64_t> queue;
    std::mt19937_64 rng(capacity);
    for (int i = 0; i < 20'000; ++i) {
      // Mostly from a range three times the window (so ids come back, some still in it,
      // some forgotten), some anywhere, 0 included.
      const std::uint64_t id = rng() % 8 == 0 ? rng() : rng() % (3 * capacity + 1);
      const bool fresh = set.insert(id).second;
      if (fresh) {
        queue.push_back(id);
        if (queue.size() > capacity) {
          set.erase(queue.front());
          queue.pop_front();
        }
      }
      ASSERT_EQ(window.insert(id), fresh) << "capacity " << capacity << ", id " << id;
      ASSERT_EQ(window.size(), queue.size());
      if (i == 10'000) window = SeenIds(std::move(window));  // a moved window goes on
    }
  }
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
