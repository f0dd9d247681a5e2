// The portfolio's snapshot: what is saved comes back exactly (books, open orders, numbering,
// the unpublished batch), and a damaged text is an error naming what is wrong.
#include "nautilus/engines/portfolio/snapshot.hpp"

#include <gtest/gtest.h>

namespace nautilus::portfolio {
namespace {

const core::Symbol kA = core::Symbol::from_trusted("AAA");
constexpr core::UnixNanos kT = 1'767'600'000'000'000'000;

TEST(PortfolioSnapshot, BooksOrdersAndTheUnpublishedBatchComeBackExactly) {
  accounting::Account books(accounting::money(100'000));
  PaperExchange ex({.participation = 0.5});
  ASSERT_TRUE(ex.submit({.client_order_id = 7,
                         .symbol = kA,
                         .strategy = model::Name::from_trusted("momentum"),
                         .side = model::OrderSide::kBuy,
                         .tif = model::TimeInForce::kGtc,
                         .quantity = *core::Quantity::from_string("30")},
                        kT));
  std::vector<ExecutionEvent> out;
  ex.on_print(kA, *core::Price::from_string("12.345"), 20'000'000'000, kT + 1, out);  // fills 10
  std::vector<model::Fill> batch;
  for (const auto& e : out) {
    if (const auto* f = std::get_if<model::Fill>(&e)) {
      ASSERT_TRUE(books.apply(*f));
      batch.push_back(*f);
    }
  }
  ASSERT_EQ(batch.size(), 1U);
  ASSERT_GE(out.size(), 2U);  // the order's state after the fill, and the fill
  // A modify and a refused one travel in the batch too: every kind of event comes back.
  auto modified = ex.modify(
      {.client_order_id = 7, .symbol = kA, .quantity = *core::Quantity::from_string("40")}, kT + 1);
  ASSERT_TRUE(modified);
  out.insert(out.end(), modified->begin(), modified->end());
  out.emplace_back(model::OrderModifyRejected{.client_order_id = 8,
                                              .symbol = kA,
                                              .reason = model::ModifyRejectReason::kBelowFilled,
                                              .ts_event = kT + 1});
  const std::string text =
      encode_state({.books = books.state(), .exchange = ex.state(), .unpublished = out});
  auto back = decode_state(text);
  ASSERT_TRUE(back) << back.error().message;
  const auto restored = accounting::Account::from_state(back->books);
  EXPECT_EQ(restored.cash(), books.cash());
  EXPECT_EQ(restored.nav(), books.nav());
  EXPECT_EQ(restored.quantity_raw(kA), books.quantity_raw(kA));
  EXPECT_EQ(restored.position(kA)->cost(), books.position(kA)->cost());
  EXPECT_EQ(restored.fills(), 1U);
  EXPECT_EQ(restored.last_trade_id(), batch[0].trade_id);
  ASSERT_EQ(back->unpublished.size(), out.size());
  for (std::size_t i = 0; i < out.size(); ++i) {
    EXPECT_EQ(back->unpublished[i].index(), out[i].index()) << i;
  }
  const model::Fill* fill = nullptr;
  for (const auto& ev : back->unpublished) {
    if (fill == nullptr) fill = std::get_if<model::Fill>(&ev);
  }
  ASSERT_NE(fill, nullptr);
  EXPECT_EQ(fill->trade_id, batch[0].trade_id);
  EXPECT_EQ(fill->price, batch[0].price);
  EXPECT_EQ(fill->commission, batch[0].commission);
  const auto* m = std::get_if<model::OrderModified>(&back->unpublished[out.size() - 2]);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->quantity.raw(), 40'000'000'000);
  EXPECT_EQ(m->leaves_quantity.raw(), 30'000'000'000);
  const auto* r = std::get_if<model::OrderModifyRejected>(&back->unpublished.back());
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->reason, model::ModifyRejectReason::kBelowFilled);
  // The books count every fill of the snapshot as applied, so a republished one is refused.
  auto again_books = accounting::Account::from_state(back->books);
  EXPECT_EQ(again_books.apply(batch[0]).error().code, core::ErrorCode::kAlreadyExists);
  // The exchange goes on where it stopped: the rest of the order, new trade ids, and no second
  // fill from a print it had seen.
  PaperExchange again = PaperExchange::from_state({.participation = 0.5}, back->exchange);
  ASSERT_EQ(again.open_orders().size(), 1U);
  EXPECT_EQ(again.open_orders().at(7).leaves, 30'000'000'000);  // 40 after the modify, 10 filled
  std::vector<ExecutionEvent> replayed;
  again.on_print(kA, *core::Price::from_string("12.345"), 20'000'000'000, kT + 1, replayed);
  EXPECT_TRUE(replayed.empty());
  again.on_print(kA, *core::Price::from_string("12.4"), 100'000'000'000, kT + 2, replayed);
  std::vector<model::Fill> fills;
  for (const auto& e : replayed) {
    if (const auto* f = std::get_if<model::Fill>(&e)) fills.push_back(*f);
  }
  ASSERT_EQ(fills.size(), 1U);
  EXPECT_GT(fills[0].trade_id, batch[0].trade_id);
  EXPECT_EQ(fills[0].quantity.raw(), 30'000'000'000);
}

TEST(PortfolioSnapshot, ASnapshotOfBeforeOrderEventsWereKeptReadsItsEntriesAsFills) {
  // Version 1 as written before the batch held order events: fills with no "type".
  const auto back = decode_state(R"({"version":1,
    "books":{"initial_cash":0,"cash":0,"realized":0,"commissions":0,"fills":0,"positions":[],
             "marks":[]},
    "exchange":{"next_trade_id":4,"next_venue_id":1,"orders":[],"last_print":[],
                "seen_orders":[]},
    "unpublished":[{"trade_id":3,"client_order_id":7,"symbol":"AAA","side":1,"liquidity":0,
                    "quantity":[5000000000,0],"price":[12000000000,2],
                    "commission":[0,2],"ts_event":5}]})");
  ASSERT_TRUE(back) << back.error().message;
  ASSERT_EQ(back->unpublished.size(), 1U);
  const auto* f = std::get_if<model::Fill>(&back->unpublished[0]);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->trade_id, 3U);
  EXPECT_EQ(f->side, model::OrderSide::kSell);
  EXPECT_EQ(f->price.to_string(), "12.00");
  // Without a last_trade_id, every trade numbered before the exchange's next is in the books.
  EXPECT_EQ(back->books.last_trade_id, 3U);
}

TEST(PortfolioSnapshot, TheSnapshotKeepsOnlyTheLatestOrderIdsSeen) {
  PaperExchange ex({});
  for (model::OrderId id = 1; id <= 5'000; ++id) {
    ASSERT_TRUE(ex.submit(
        {.client_order_id = id, .symbol = kA, .quantity = *core::Quantity::from_string("1")}, kT));
  }
  const auto s = ex.state();
  ASSERT_EQ(s.seen_orders.size(), 4'096U);
  EXPECT_EQ(s.seen_orders.front(), 5'000U - 4'096U + 1);
  EXPECT_EQ(s.seen_orders.back(), 5'000U);
  // Every open order is known again after the restore, however old.
  const auto again = PaperExchange::from_state({}, s);
  EXPECT_TRUE(again.seen(1));
  EXPECT_TRUE(again.seen(5'000));
}

TEST(PortfolioSnapshot, ADamagedSnapshotIsAnErrorThatSaysWhat) {
  EXPECT_NE(decode_state("{").error().message.find("not a JSON object"), std::string::npos);
  EXPECT_EQ(decode_state(R"({"version":9})").error().code, core::ErrorCode::kUnsupportedVersion);
  const auto unknown = decode_state(R"({"version":1,
    "books":{"initial_cash":0,"cash":0,"realized":0,"commissions":0,"fills":0,"positions":[],
             "marks":[]},
    "exchange":{"next_trade_id":1,"next_venue_id":1,"orders":[],"last_print":[],
                "seen_orders":[]},
    "unpublished":[{"type":"bar"}]})");
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message.find("not an execution event"), std::string::npos)
      << unknown.error().message;
  const auto missing = decode_state(R"({"version":1,"books":{}})");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("portfolio snapshot"), std::string::npos)
      << missing.error().message;
}

}  // namespace
}  // namespace nautilus::portfolio
