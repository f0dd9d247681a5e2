// The books by hand (average cost, as NautilusTrader's Position), their identities after every
// fill of a long random stream, and a duplicate trade id refused.
#include "nautilus/accounting/account.hpp"

#include <gtest/gtest.h>

#include <random>

namespace nautilus::accounting {

__extension__ using Int128 = __int128;  // products of two raw values need 128 bits
namespace {

const core::Symbol kA = core::Symbol::from_trusted("AAA");
const core::Symbol kB = core::Symbol::from_trusted("BBB");

model::Fill fill(std::uint64_t id, core::Symbol s, model::OrderSide side, const char* qty,
                 const char* px, const char* commission = "0") {
  return {.trade_id = id,
          .symbol = s,
          .side = side,
          .quantity = *core::Quantity::from_string(qty),
          .price = *core::Price::from_string(px),
          .commission = *core::Price::from_string(commission)};
}
constexpr auto kBuy = model::OrderSide::kBuy;
constexpr auto kSell = model::OrderSide::kSell;
core::Price px(const char* s) { return *core::Price::from_string(s); }

TEST(Account, AverageCostRealizesOnReductionAndReopensPastZero) {
  Account a(money(100'000));
  ASSERT_TRUE(a.apply(fill(1, kA, kBuy, "100", "10")));
  ASSERT_TRUE(a.apply(fill(2, kA, kBuy, "100", "12")));
  // 200 at an average of 11; cash 100,000 - 1,000 - 1,200.
  EXPECT_EQ(a.position(kA)->average_price(), px("11"));
  EXPECT_EQ(a.cash(), money(97'800));
  // Sell 150 at 13: realizes 150 x (13 - 11) = 300; 50 left at 11.
  auto e = a.apply(fill(3, kA, kSell, "150", "13"));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->realized, money(300));
  EXPECT_EQ(a.quantity_raw(kA), 50 * core::kFixedScale);
  EXPECT_EQ(a.position(kA)->average_price(), px("11"));
  // Sell 100 at 9: closes 50 (realizes 50 x (9 - 11) = -100), opens a short of 50 at 9.
  e = a.apply(fill(4, kA, kSell, "100", "9"));
  ASSERT_TRUE(e);
  EXPECT_TRUE(e->flipped);
  EXPECT_EQ(e->realized, money(-100));
  EXPECT_EQ(a.quantity_raw(kA), -50 * core::kFixedScale);
  EXPECT_EQ(a.position(kA)->average_price(), px("9"));
  // Buy 50 at 8 with a commission of 1: the short's 50 x (9 - 8) = 50, less 1.
  e = a.apply(fill(5, kA, kBuy, "50", "8", "1"));
  ASSERT_TRUE(e);
  EXPECT_TRUE(e->closed);
  EXPECT_EQ(e->realized, money(49));
  EXPECT_EQ(a.realized(), money(249));
  EXPECT_EQ(a.open_positions(), 0U);
  // Flat again: all of the PnL is cash.
  EXPECT_EQ(a.cash(), money(100'249));
  EXPECT_EQ(a.nav(), a.cash());
}

TEST(Account, MarksMoveUnrealizedAndNavOnly) {
  Account a(money(10'000));
  ASSERT_TRUE(a.apply(fill(1, kA, kBuy, "10", "100")));
  ASSERT_TRUE(a.apply(fill(2, kB, kSell, "20", "50")));
  EXPECT_TRUE(a.mark(kA, px("110")));  // +100
  EXPECT_TRUE(a.mark(kB, px("45")));   // short: +100
  EXPECT_FALSE(a.mark(kB, px("-1")));
  EXPECT_EQ(a.unrealized(), money(200));
  EXPECT_EQ(a.gross_exposure(), money(1'100 + 900));
  EXPECT_EQ(a.net_exposure(), money(1'100 - 900));
  EXPECT_EQ(a.cash(), money(10'000 - 1'000 + 1'000));
  EXPECT_EQ(a.nav(), money(10'200));
  const auto s = a.snapshot(7);
  EXPECT_EQ(s.nav, px("10200"));
  EXPECT_EQ(s.unrealized_pnl, px("200"));
  EXPECT_EQ(s.open_positions, 2U);
  const auto c = a.position_change(kB, 7);
  EXPECT_EQ(c.side, model::PositionSide::kShort);
  EXPECT_EQ(c.quantity, *core::Quantity::from_string("20"));
  EXPECT_EQ(c.unrealized_pnl, px("100"));
}

TEST(Account, AFillAppliedTwiceIsRefusedAndChangesNothing) {
  Account a(money(1'000));
  ASSERT_TRUE(a.apply(fill(9, kA, kBuy, "1", "100")));
  const Money cash = a.cash();
  auto again = a.apply(fill(9, kA, kBuy, "1", "100"));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, core::ErrorCode::kAlreadyExists);
  EXPECT_EQ(a.cash(), cash);
  EXPECT_EQ(a.quantity_raw(kA), core::kFixedScale);
  EXPECT_EQ(a.fills(), 1U);
}

TEST(Account, BooksTravelAsAMessageAndComeBackExactly) {
  Account a(money(50'000));
  ASSERT_TRUE(a.apply(fill(4, kA, kBuy, "30", "10.125", "1.5")));
  ASSERT_TRUE(a.apply(fill(9, kB, kSell, "7", "99.99")));
  a.mark(kA, px("10.5"));
  const auto msg = to_books(a.state(), 123);
  EXPECT_EQ(msg.last_trade_id, 9U);
  EXPECT_EQ(msg.fills, 2U);
  auto back = from_books(msg);
  ASSERT_TRUE(back) << back.error().message;
  const Account b = Account::from_state(*back);
  EXPECT_EQ(b.cash(), a.cash());
  EXPECT_EQ(b.nav(), a.nav());
  EXPECT_EQ(b.realized(), a.realized());
  EXPECT_EQ(b.quantity_raw(kB), -7'000'000'000);
  EXPECT_EQ(b.position(kA)->cost(), a.position(kA)->cost());
  // Every trade id up to the books' last counts as applied, seen one by one or not (5 never
  // was: the watermark is what a reader of the books can know); 10 is new.
  Account c = Account::from_state(*back);
  EXPECT_EQ(c.apply(fill(4, kA, kBuy, "1", "10")).error().code, core::ErrorCode::kAlreadyExists);
  EXPECT_EQ(c.apply(fill(5, kA, kBuy, "1", "10")).error().code, core::ErrorCode::kAlreadyExists);
  EXPECT_TRUE(c.apply(fill(10, kA, kBuy, "1", "10")));
  auto broken = msg;
  broken.cost.pop_back();
  EXPECT_EQ(from_books(broken).error().code, core::ErrorCode::kInvalidArgument);
}

TEST(Account, AnEngineTakesThePortfoliosBooksOnlyWhenTheyAreNotBehindItsOwn) {
  Account portfolio(money(10'000));
  ASSERT_TRUE(portfolio.apply(fill(1, kA, kBuy, "10", "20")));
  ASSERT_TRUE(portfolio.apply(fill(2, kA, kBuy, "10", "22")));
  Account fresh(money(10'000));  // a risk engine restarted: no fills seen
  fresh.mark(kA, px("23"));      // but a price already
  auto taken = adopt_books(fresh, to_books(portfolio.state(), 5));
  ASSERT_TRUE(taken && *taken);
  EXPECT_EQ(fresh.quantity_raw(kA), 20'000'000'000);
  EXPECT_EQ(fresh.mark_of(kA), px("23"));  // its own, later price is kept
  EXPECT_EQ(fresh.nav(), money(10'000 - 420 + 460));
  // The republished fill is then refused, and a newer one counts once.
  EXPECT_FALSE(fresh.apply(fill(2, kA, kBuy, "10", "22")));
  ASSERT_TRUE(fresh.apply(fill(3, kA, kSell, "5", "23")));
  // Books behind it (fewer fills) are not taken.
  auto stale = adopt_books(fresh, to_books(portfolio.state(), 6));
  ASSERT_TRUE(stale);
  EXPECT_FALSE(*stale);
  EXPECT_EQ(fresh.quantity_raw(kA), 15'000'000'000);
}

TEST(Account, NotionalIsTheProductRoundedHalfAwayFromZeroToANanounit) {
  // Against the 128-bit product, for values across the range and both signs.
  std::mt19937_64 rng(2);
  for (int i = 0; i < 100'000; ++i) {
    const std::int64_t p =
        static_cast<std::int64_t>(rng() % (std::uint64_t{1} << 46)) * (i % 3 == 0 ? -1 : 1);
    const std::int64_t q =
        static_cast<std::int64_t>(rng() % (std::uint64_t{1} << 44)) * (i % 5 == 0 ? -1 : 1);
    const Int128 prod = static_cast<Int128>(p) * q;
    Int128 want = prod / core::kFixedScale;
    const Int128 rem = prod % core::kFixedScale;
    if ((rem < 0 ? -rem : rem) * 2 >= core::kFixedScale) want += prod < 0 ? -1 : 1;
    ASSERT_EQ(notional(*core::Price::from_raw(p, 9), q), static_cast<std::int64_t>(want))
        << p << " x " << q;
  }
  EXPECT_EQ(notional(*core::Price::from_string("0.000000001"), 500'000'000), 1);  // 0.5 up
  EXPECT_EQ(notional(*core::Price::from_string("-0.000000001"), 500'000'000), -1);
  EXPECT_EQ(notional(*core::Price::from_string("0.000000001"), 499'999'999), 0);
}

TEST(Account, BadFillsAreRefusedNamingWhatIsWrong) {
  Account a;
  auto f = fill(1, kA, kBuy, "1", "100");
  f.quantity = core::Quantity{};
  EXPECT_NE(a.apply(f).error().message.find("quantity"), std::string::npos);
  f = fill(2, kA, kBuy, "1", "0");
  EXPECT_NE(a.apply(f).error().message.find("price"), std::string::npos);
  f = fill(3, kA, kBuy, "1", "1", "-0.5");
  EXPECT_NE(a.apply(f).error().message.find("commission"), std::string::npos);
  EXPECT_EQ(a.fills(), 0U);
  EXPECT_FALSE(a.seen(1));  // a refused fill can come again, corrected
}

TEST(Account, TheIdentitiesHoldExactlyAfterEveryFillOfARandomStream) {
  // Odd quantities and prices with 4 decimals make every rounding path run.
  std::mt19937_64 rng(11);
  std::uniform_int_distribution<int> qty(1, 5'000);
  std::uniform_int_distribution<int> ticks(50'000, 150'000);  // 5.0000 .. 15.0000
  std::bernoulli_distribution buy(0.5);
  const core::Symbol symbols[] = {kA, kB};
  Account a(money(1'000'000));
  Account replay(money(1'000'000));
  std::vector<model::Fill> fills;
  for (std::uint64_t id = 1; id <= 5'000; ++id) {
    model::Fill f{.trade_id = id,
                  .symbol = symbols[id % 2],
                  .side = buy(rng) ? kBuy : kSell,
                  .quantity = *core::Quantity::from_raw(qty(rng) * 1'000'000'0LL, 3),
                  .price = *core::Price::from_raw(ticks(rng) * 100'000LL, 4),
                  .commission = *core::Price::from_raw((id % 7) * 10'000'000LL, 2)};
    ASSERT_TRUE(a.apply(f));
    fills.push_back(f);
    a.mark(symbols[(id + 1) % 2], *core::Price::from_raw(ticks(rng) * 100'000LL, 4));
    // cash + positions at market == NAV; NAV - initial == realized + unrealized; exactly.
    ASSERT_EQ(a.cash() + a.market_value(), a.nav());
    ASSERT_EQ(a.nav() - a.initial_cash(), a.realized() + a.unrealized()) << "fill " << id;
    Money sum = 0;
    Money value = 0;
    Money gross = 0;
    Money open_cost = 0;
    std::uint32_t open = 0;
    for (const auto s : symbols) {
      const Position* p = a.position(s);
      if (p == nullptr) continue;
      sum += p->realized();
      const Money v = p->quantity_raw() == 0 ? 0 : p->market_value(*a.mark_of(s));
      value += v;
      gross += std::abs(v);
      if (p->quantity_raw() != 0) {
        open_cost += p->cost();
        ++open;
      }
    }
    ASSERT_EQ(sum, a.realized());
    // The running totals are the positions' values recomputed from scratch.
    ASSERT_EQ(value, a.market_value());
    ASSERT_EQ(gross, a.gross_exposure());
    // ... and so is the snapshot, which is made from them.
    const auto snap = a.snapshot(static_cast<core::UnixNanos>(id));
    ASSERT_EQ(snap.net_exposure, as_price(value));
    ASSERT_EQ(snap.gross_exposure, as_price(gross));
    ASSERT_EQ(snap.unrealized_pnl, as_price(value - open_cost));
    ASSERT_EQ(snap.nav, as_price(a.cash() + value));
    ASSERT_EQ(snap.open_positions, open);
  }
  // The same fills, in the same order, rebuild the same books.
  for (const auto& f : fills) ASSERT_TRUE(replay.apply(f));
  for (const auto s : symbols) {
    ASSERT_EQ(replay.position(s)->quantity_raw(), a.position(s)->quantity_raw());
    ASSERT_EQ(replay.position(s)->cost(), a.position(s)->cost());
    ASSERT_EQ(replay.position(s)->realized(), a.position(s)->realized());
  }
  EXPECT_EQ(replay.cash(), a.cash());
}

}  // namespace
}  // namespace nautilus::accounting
