// The websocket engine's control messages and subscription index (src/engines/websocket/).
#include "control.hpp"

#include <gtest/gtest.h>

#include "subscription_index.hpp"

namespace nautilus::websocket {
namespace {

TEST(ControlMessage, SubscribeNormalisesItsPatternsAndKeepsTheClientsId) {
  auto m =
      parse_control(R"({"op":"subscribe","topics":["market_data.**.bar","ALL"],"id":"7"})", 10);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->op, ControlMessage::Op::kSubscribe);
  EXPECT_EQ(m->patterns, (std::vector<std::string>{"market_data.*.bar", "*"}));
  EXPECT_EQ(m->id, "7");
  auto n = parse_control(R"({"op":"unsubscribe","topics":["vpin.*"],"id":12})", 10);
  ASSERT_TRUE(n);
  EXPECT_EQ(n->op, ControlMessage::Op::kUnsubscribe);
  EXPECT_EQ(n->id, "12");
  EXPECT_EQ(parse_control(R"({"op":"ping"})", 10)->op, ControlMessage::Op::kPing);
  EXPECT_EQ(parse_control(R"({"op":"list"})", 10)->op, ControlMessage::Op::kList);
}

TEST(ControlMessage, EachKindOfBadMessageIsRefusedWithItsKindAndAReason) {
  const struct {
    const char* text;
    const char* kind;
    const char* says;
  } cases[] = {
      {"not json", "malformed", "malformed control message"},
      {"", "malformed", "malformed control message"},
      {"[1,2]", "malformed", "a JSON object"},
      {R"({"topics":["a"]})", "malformed", "needs \"op\""},
      {R"({"op":5})", "malformed", "needs \"op\""},
      {R"({"op":"dance"})", "unknown_op", "unknown op 'dance'"},
      {R"({"op":"subscribe"})", "malformed", "non-empty array"},
      {R"({"op":"subscribe","topics":[]})", "malformed", "non-empty array"},
      {R"({"op":"subscribe","topics":"vpin.*"})", "malformed", "non-empty array"},
      {R"({"op":"subscribe","topics":[3]})", "malformed", "each of \"topics\" is a string"},
      {R"({"op":"subscribe","topics":["bad pattern!"]})", "bad_pattern", "character outside"},
      {R"({"op":"subscribe","topics":["a","b","c"]})", "too_many", "at most 2"},
      {R"({"op":"ping","id":[1]})", "malformed", "\"id\" must be"},
      {R"({"op":[[[[[[[[[[1]]]]]]]]]]})", "malformed", "malformed control message"},
  };
  for (const auto& c : cases) {
    auto m = parse_control(c.text, 2);
    ASSERT_FALSE(m) << c.text;
    EXPECT_EQ(m.error().kind, c.kind) << c.text;
    EXPECT_NE(m.error().message.find(c.says), std::string::npos)
        << c.text << " -> " << m.error().message;
  }
}

bus::Topic topic(std::string_view t) { return *bus::Topic::create(t); }

TEST(SubscriptionIndex, ATopicReachesEachMatchingClientOnceInIdOrder) {
  SubscriptionIndex idx;
  EXPECT_TRUE(idx.add(3, "market_data.*"));
  EXPECT_TRUE(idx.add(1, "market_data.*.bar"));
  EXPECT_TRUE(idx.add(3, "market_data.AAPL.bar"));  // two of client 3's patterns match
  EXPECT_FALSE(idx.add(3, "market_data.*"));
  EXPECT_TRUE(idx.add(2, "vpin.*"));
  EXPECT_EQ(idx.clients_for(topic("market_data.AAPL.bar")), (std::vector<std::uint64_t>{1, 3}));
  EXPECT_EQ(idx.clients_for(topic("market_data.AAPL.trade")), (std::vector<std::uint64_t>{3}));
  EXPECT_EQ(idx.clients_for(topic("vpin.calculation.AAPL")), (std::vector<std::uint64_t>{2}));
  EXPECT_TRUE(idx.clients_for(topic("risk.alert.AAPL")).empty());
  EXPECT_EQ(idx.distinct_patterns(), 4U);
}

TEST(SubscriptionIndex, AChangeIsSeenByTheNextLookupOfACachedTopic) {
  SubscriptionIndex idx;
  idx.add(1, "market_data.*");
  const auto t = topic("market_data.MSFT.bar");
  EXPECT_EQ(idx.clients_for(t).size(), 1U);  // cached now
  idx.add(2, "*.bar");
  EXPECT_EQ(idx.clients_for(t), (std::vector<std::uint64_t>{1, 2}));
  EXPECT_TRUE(idx.remove(1, "market_data.*"));
  EXPECT_FALSE(idx.remove(1, "market_data.*"));
  EXPECT_EQ(idx.clients_for(t), (std::vector<std::uint64_t>{2}));
  idx.add(2, "market_data.MSFT.*");
  idx.remove_client(2);
  EXPECT_TRUE(idx.clients_for(t).empty());
  EXPECT_EQ(idx.pattern_count(2), 0U);
  EXPECT_EQ(idx.distinct_patterns(), 0U);
}

}  // namespace
}  // namespace nautilus::websocket
