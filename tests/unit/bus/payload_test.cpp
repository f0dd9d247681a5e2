#include "nautilus/bus/payload.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "nautilus/model/market_data.hpp"

namespace nautilus::bus {
namespace {

struct Report {
  static constexpr std::string_view kTypeName = "report";
  std::string title;
  std::vector<double> values;
};

TEST(Payload, SmallTrivialMessagesAreInlineCopies) {
  model::TradeTick t{core::Symbol::from_trusted("AAPL"),
                     *core::Price::from_string("1.25"),
                     *core::Quantity::from_string("10"),
                     model::AggressorSide::kBuyer,
                     7,
                     99};
  Payload p = Payload::make(t);
  Payload copy = p;
  ASSERT_NE(copy.get<model::TradeTick>(), nullptr);
  EXPECT_EQ(*copy.get<model::TradeTick>(), t);
  EXPECT_NE(copy.get<model::TradeTick>(), p.get<model::TradeTick>());  // its own bytes
  EXPECT_EQ(p.get<model::QuoteTick>(), nullptr);                       // wrong type
  EXPECT_EQ(p.type_name(), "trade_tick");
  EXPECT_TRUE(detail::kStoredInline<model::Bar>);
}

TEST(Payload, LargeMessagesAreSharedNotCopied) {
  Payload p = Payload::make(Report{"pnl", std::vector<double>(1000, 1.0)});
  Payload a = p;
  Payload b = std::move(a);
  EXPECT_TRUE(a.empty());
  ASSERT_NE(b.get<Report>(), nullptr);
  EXPECT_EQ(b.get<Report>(), p.get<Report>());  // the same immutable object
  EXPECT_EQ(b.get<Report>()->values.size(), 1000u);
  p.reset();
  EXPECT_TRUE(p.empty());
  EXPECT_EQ(b.get<Report>()->title, "pnl");  // still alive through b
}

}  // namespace
}  // namespace nautilus::bus
