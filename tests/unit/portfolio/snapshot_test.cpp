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
  const std::string text =
      encode_state({.books = books.state(), .exchange = ex.state(), .unpublished = batch});
  auto back = decode_state(text);
  ASSERT_TRUE(back) << back.error().message;
  const auto restored = accounting::Account::from_state(back->books);
  EXPECT_EQ(restored.cash(), books.cash());
  EXPECT_EQ(restored.nav(), books.nav());
  EXPECT_EQ(restored.quantity_raw(kA), books.quantity_raw(kA));
  EXPECT_EQ(restored.position(kA)->cost(), books.position(kA)->cost());
  EXPECT_EQ(restored.fills(), 1U);
  ASSERT_EQ(back->unpublished.size(), 1U);
  EXPECT_EQ(back->unpublished[0].trade_id, batch[0].trade_id);
  EXPECT_EQ(back->unpublished[0].price, batch[0].price);
  // The exchange goes on where it stopped: the rest of the order, new trade ids, and no second
  // fill from a print it had seen.
  PaperExchange again = PaperExchange::from_state({.participation = 0.5}, back->exchange);
  ASSERT_EQ(again.open_orders().size(), 1U);
  EXPECT_EQ(again.open_orders().at(7).leaves, 20'000'000'000);
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
  EXPECT_EQ(fills[0].quantity.raw(), 20'000'000'000);
}

TEST(PortfolioSnapshot, ADamagedSnapshotIsAnErrorThatSaysWhat) {
  EXPECT_NE(decode_state("{").error().message.find("not a JSON object"), std::string::npos);
  EXPECT_EQ(decode_state(R"({"version":9})").error().code, core::ErrorCode::kUnsupportedVersion);
  const auto missing = decode_state(R"({"version":1,"books":{}})");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("portfolio snapshot"), std::string::npos)
      << missing.error().message;
}

}  // namespace
}  // namespace nautilus::portfolio
