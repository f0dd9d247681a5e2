// Paper execution by hand: latency on the data's time, fills limited by each print's volume,
// limits, slippage and fees, IOC, FOK and DAY orders, modify and cancel.
#include "nautilus/engines/portfolio/paper_exchange.hpp"

#include <gtest/gtest.h>

namespace nautilus::portfolio {
namespace {

using model::OrderSide;
const core::Symbol kA = core::Symbol::from_trusted("AAA");
constexpr core::UnixNanos kT = 1'767'600'000'000'000'000;  // 2026-01-05T08:00:00Z
constexpr core::UnixNanos kSecond = 1'000'000'000;
std::int64_t raw(double units) { return static_cast<std::int64_t>(units * 1e9); }
core::Price px(const char* s) { return *core::Price::from_string(s); }

model::NewOrder order(model::OrderId id, OrderSide side, const char* qty,
                      const char* limit = nullptr,
                      model::TimeInForce tif = model::TimeInForce::kGtc) {
  return {.client_order_id = id,
          .symbol = kA,
          .side = side,
          .type = limit ? model::OrderType::kLimit : model::OrderType::kMarket,
          .tif = tif,
          .quantity = *core::Quantity::from_string(qty),
          .price = limit ? px(limit) : core::Price{}};
}

std::vector<model::Fill> fills(const std::vector<ExecutionEvent>& ev) {
  std::vector<model::Fill> out;
  for (const auto& e : ev) {
    if (const auto* f = std::get_if<model::Fill>(&e)) out.push_back(*f);
  }
  return out;
}
template <class T>
std::vector<T> events(const std::vector<ExecutionEvent>& ev) {
  std::vector<T> out;
  for (const auto& e : ev) {
    if (const auto* f = std::get_if<T>(&e)) out.push_back(*f);
  }
  return out;
}

TEST(PaperExchange, AnOrderFillsOnTheFirstPrintAfterItsLatencyNotOnOneItHasSeen) {
  PaperExchange ex({.latency_ns = 2 * kSecond});
  std::vector<ExecutionEvent> out;
  ex.on_print(kA, px("10"), raw(100), kT, out);  // the print the strategy reacted to
  auto accepted = ex.submit(order(1, OrderSide::kBuy, "5"), kT + 100 * kSecond);  // clock time
  ASSERT_TRUE(accepted);
  ASSERT_EQ(events<model::OrderAccepted>(*accepted).size(), 1U);
  ex.on_print(kA, px("10.1"), raw(100), kT + kSecond, out);  // inside the latency
  EXPECT_TRUE(fills(out).empty());
  ex.on_print(kA, px("10.2"), raw(100), kT + 2 * kSecond + 1, out);
  const auto f = fills(out);
  ASSERT_EQ(f.size(), 1U);
  EXPECT_EQ(f[0].price, px("10.2"));
  EXPECT_EQ(f[0].quantity.raw(), raw(5));
  EXPECT_EQ(f[0].ts_event, kT + 2 * kSecond + 1);
  EXPECT_EQ(f[0].liquidity, model::Liquidity::kTaker);
  EXPECT_TRUE(ex.open_orders().empty());
}

TEST(PaperExchange, EachPrintFillsAtMostItsParticipationOldestOrderFirst) {
  PaperExchange ex({.participation = 0.1});
  ASSERT_TRUE(ex.submit(order(1, OrderSide::kBuy, "30"), kT));
  ASSERT_TRUE(ex.submit(order(2, OrderSide::kBuy, "10"), kT));
  std::vector<ExecutionEvent> out;
  ex.on_print(kA, px("20"), raw(200), kT + 1, out);  // 20 available: all to order 1
  auto f = fills(out);
  ASSERT_EQ(f.size(), 1U);
  EXPECT_EQ(f[0].client_order_id, 1U);
  EXPECT_EQ(f[0].quantity.raw(), raw(20));
  const auto partial = events<model::OrderFilled>(out);
  ASSERT_EQ(partial.size(), 1U);
  EXPECT_EQ(partial[0].status, model::OrderStatus::kPartiallyFilled);
  EXPECT_EQ(partial[0].leaves_quantity.raw(), raw(10));
  out.clear();
  ex.on_print(kA, px("22"), raw(150), kT + 2, out);  // 15: 10 to order 1, 5 to order 2
  f = fills(out);
  ASSERT_EQ(f.size(), 2U);
  EXPECT_EQ(f[0].quantity.raw(), raw(10));
  EXPECT_EQ(f[1].quantity.raw(), raw(5));
  const auto done = events<model::OrderFilled>(out);
  EXPECT_EQ(done[0].status, model::OrderStatus::kFilled);
  EXPECT_EQ(done[0].avg_price, px("20.666666666"));  // (20 x 20 + 10 x 22) / 30, to 1e-9
}

TEST(PaperExchange, ALimitFillsWhenThePrintReachesItAndNeverBeyondIt) {
  PaperExchange ex({.slippage_bps = 10});
  ASSERT_TRUE(ex.submit(order(1, OrderSide::kBuy, "1", "99.95"), kT));
  ASSERT_TRUE(ex.submit(order(2, OrderSide::kSell, "1", "101"), kT));
  std::vector<ExecutionEvent> out;
  ex.on_print(kA, px("100"), raw(10), kT + 1, out);  // reaches neither
  EXPECT_TRUE(fills(out).empty());
  ex.on_print(kA, px("99.9"), raw(10), kT + 2, out);  // buy: 99.9 x 1.001 = 99.9999, capped
  auto f = fills(out);
  ASSERT_EQ(f.size(), 1U);
  EXPECT_EQ(f[0].price, px("99.95"));
  EXPECT_EQ(f[0].liquidity, model::Liquidity::kMaker);
  out.clear();
  ex.on_print(kA, px("102"), raw(10), kT + 3, out);  // sell: 102 x 0.999 = 101.898
  f = fills(out);
  ASSERT_EQ(f.size(), 1U);
  EXPECT_EQ(f[0].price, px("101.898"));
}

TEST(PaperExchange, FeesAreBasisPointsOfTheFillWithAMinimum) {
  PaperExchange ex({.fee_bps = 5, .min_fee = 1});
  ASSERT_TRUE(ex.submit(order(1, OrderSide::kBuy, "100"), kT));
  ASSERT_TRUE(ex.submit(order(2, OrderSide::kBuy, "1"), kT));
  std::vector<ExecutionEvent> out;
  ex.on_print(kA, px("50"), raw(1000), kT + 1, out);
  const auto f = fills(out);
  ASSERT_EQ(f.size(), 2U);
  EXPECT_EQ(f[0].commission, px("2.5"));  // 5,000 x 5 bp
  EXPECT_EQ(f[1].commission, px("1"));    // 50 x 5 bp = 0.025, the minimum is 1
  EXPECT_NE(f[0].trade_id, f[1].trade_id);
}

TEST(PaperExchange, IocFillsWhatTheFirstPrintAllowsAndFokAllOrNothing) {
  PaperExchange ex({.participation = 0.5});
  ASSERT_TRUE(ex.submit(order(1, OrderSide::kBuy, "10", nullptr, model::TimeInForce::kIoc), kT));
  ASSERT_TRUE(ex.submit(order(2, OrderSide::kBuy, "10", nullptr, model::TimeInForce::kFok), kT));
  std::vector<ExecutionEvent> out;
  ex.on_print(kA, px("5"), raw(8), kT + 1, out);  // 4 available
  const auto f = fills(out);
  ASSERT_EQ(f.size(), 1U);  // IOC takes 4; FOK cannot have 10
  EXPECT_EQ(f[0].quantity.raw(), raw(4));
  const auto cancelled = events<model::OrderCancelled>(out);
  ASSERT_EQ(cancelled.size(), 2U);
  EXPECT_EQ(cancelled[0].leaves_quantity.raw(), raw(6));
  EXPECT_EQ(cancelled[1].reason, model::CancelReason::kUnfillable);
  EXPECT_TRUE(ex.open_orders().empty());
}

TEST(PaperExchange, ADayOrderExpiresWhenTheDateChanges) {
  PaperExchange ex({});
  ASSERT_TRUE(ex.submit(order(1, OrderSide::kBuy, "1", "1", model::TimeInForce::kDay), kT));
  ASSERT_TRUE(ex.submit(order(2, OrderSide::kBuy, "1", "1", model::TimeInForce::kGtc), kT));
  std::vector<ExecutionEvent> out;
  ex.on_print(kA, px("5"), raw(8), kT + 3600 * kSecond, out);  // the same date
  EXPECT_TRUE(out.empty());
  ex.on_print(kA, px("5"), raw(8), kT + 86'400 * kSecond, out);
  const auto c = events<model::OrderCancelled>(out);
  ASSERT_EQ(c.size(), 1U);
  EXPECT_EQ(c[0].client_order_id, 1U);
  EXPECT_EQ(c[0].reason, model::CancelReason::kExpired);
  EXPECT_EQ(ex.open_orders().size(), 1U);
}

TEST(PaperExchange, ModifyAndCancelAnOpenOrderAndRefuseAnUnknownOne) {
  PaperExchange ex({});
  ASSERT_TRUE(ex.submit(order(1, OrderSide::kBuy, "10", "9"), kT));
  EXPECT_EQ(ex.submit(order(1, OrderSide::kBuy, "1"), kT).error().code,
            core::ErrorCode::kAlreadyExists);
  ASSERT_TRUE(ex.modify({.client_order_id = 1,
                         .symbol = kA,
                         .quantity = *core::Quantity::from_string("4"),
                         .price = px("10")},
                        kT));
  std::vector<ExecutionEvent> out;
  ex.on_print(kA, px("10"), raw(100), kT + 1, out);  // reaches the new limit
  ASSERT_EQ(fills(out).size(), 1U);
  EXPECT_EQ(fills(out)[0].quantity.raw(), raw(4));
  EXPECT_EQ(ex.cancel(1, model::CancelReason::kRequested, kT).error().code,
            core::ErrorCode::kNotFound);
  ASSERT_TRUE(ex.submit(order(2, OrderSide::kSell, "3", "50"), kT));
  auto c = ex.cancel(2, model::CancelReason::kRequested, kT + 2);
  ASSERT_TRUE(c);
  EXPECT_EQ(events<model::OrderCancelled>(*c)[0].leaves_quantity.raw(), raw(3));
  EXPECT_FALSE(PaperExchange::validate({.participation = 0}));
  EXPECT_FALSE(PaperExchange::validate({.slippage_bps = -1}));
}

}  // namespace
}  // namespace nautilus::portfolio
