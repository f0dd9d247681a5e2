#include "nautilus/core/strings.hpp"

#include <gtest/gtest.h>

namespace nautilus::core {
namespace {

using List = std::vector<std::string>;

TEST(Trim, DropsAsciiWhitespaceAtBothEndsOnly) {
  EXPECT_EQ(trim("  a b \t\r\n"), "a b");
  EXPECT_EQ(trim("x"), "x");
  EXPECT_EQ(trim(" \t "), "");
  EXPECT_EQ(trim(""), "");
}

TEST(SplitList, TrimsItemsAndDropsEmptyOnes) {
  EXPECT_EQ(split_list("AAPL,MSFT"), (List{"AAPL", "MSFT"}));
  EXPECT_EQ(split_list(" AAPL , MSFT,,\tIBM ,"), (List{"AAPL", "MSFT", "IBM"}));
  EXPECT_EQ(split_list("a b, c"), (List{"a b", "c"}));  // inner spaces stay
  EXPECT_EQ(split_list(""), List{});
  EXPECT_EQ(split_list(" , ,"), List{});
  EXPECT_EQ(split_list("one"), (List{"one"}));
  EXPECT_EQ(split_list("a;b, c", ';'), (List{"a", "b, c"}));
}

}  // namespace
}  // namespace nautilus::core
