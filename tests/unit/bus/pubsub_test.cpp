// Publish/subscribe on the in-process bus: routing, the per-topic cache, envelopes.
#include <gtest/gtest.h>

#include <algorithm>
#include <thread>
#include <vector>

#include "nautilus/bus/message_bus.hpp"
#include "nautilus/bus/symbol_topics.hpp"
#include "test_messages.hpp"

namespace nautilus::bus {
namespace {

using testing::Tick;

struct Fixture : ::testing::Test {
  core::SimulatedClock clock{1'000'000};
  MessageBus bus{{.clock = &clock, .request_timer_thread = false}};
  Publisher pub = *bus.publisher("marketdata");
};

using PubSub = Fixture;

TEST_F(PubSub, RoutesByPatternAndStampsTheEnvelope) {
  std::vector<Envelope> got;
  ASSERT_TRUE(bus.subscribe("market_data.*", [&](const Envelope& e) { got.push_back(e); }));
  auto aapl = *bus.topic("market_data.AAPL.trade");
  auto other = *bus.topic("risk.alert.AAPL");
  pub.publish(aapl, Tick{1});
  clock.advance(std::chrono::nanoseconds(500));
  pub.publish(aapl, Tick{2}, {.priority = Priority::kHigh, .ts_event = 42});
  pub.publish(other, Tick{3});
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].topic.value(), "market_data.AAPL.trade");
  EXPECT_EQ(got[0].source.value(), "marketdata");
  EXPECT_EQ(got[0].sequence, 1u);
  EXPECT_EQ(got[0].ts_publish, 1'000'000);
  EXPECT_EQ(got[0].ts_event, 1'000'000);  // defaults to the publish time
  EXPECT_EQ(got[1].sequence, 2u);
  EXPECT_EQ(got[1].ts_publish, 1'000'500);
  EXPECT_EQ(got[1].ts_event, 42);
  EXPECT_EQ(got[1].priority, Priority::kHigh);
  EXPECT_EQ(got[1].get<Tick>()->n, 2);
  EXPECT_EQ(pub.last_sequence(), 3u);  // the unrouted publish still took a sequence number
}

TEST_F(PubSub, CachedTopicSeesSubscriptionsMadeAfterItWasResolved) {
  auto t = *bus.topic("vpin.AAPL");
  EXPECT_EQ(pub.publish(t, Tick{0}).reached(), 0u);
  int a = 0, b = 0;
  auto sa = *bus.subscribe("vpin.*", [&](const Envelope&) { ++a; });
  EXPECT_EQ(pub.publish(t, Tick{1}).reached(), 1u);
  auto sb = *bus.subscribe("vpin.????", [&](const Envelope&) { ++b; });
  (void)bus.subscribe("vpin.MSFT", [&](const Envelope&) { ADD_FAILURE(); });
  EXPECT_EQ(pub.publish(t, Tick{2}).reached(), 2u);
  ASSERT_TRUE(bus.unsubscribe(sa));
  pub.publish(t, Tick{3});
  EXPECT_EQ(a, 2);
  EXPECT_EQ(b, 2);
  EXPECT_EQ(t.subscriber_count(), 1u);  // only vpin.???? is left
  ASSERT_TRUE(bus.unsubscribe(sb));
  EXPECT_FALSE(bus.unsubscribe(sb));  // already gone
}

TEST_F(PubSub, AllAndStarReceiveEverything) {
  int all = 0;
  (void)bus.subscribe("ALL", [&](const Envelope&) { ++all; });
  (void)pub.publish("a.b", Tick{});
  (void)pub.publish("x", Tick{});
  (void)pub.publish("market_data.MSFT.quote", Tick{});
  EXPECT_EQ(all, 3);
}

TEST_F(PubSub, RejectsBadTopicsPatternsAndNames) {
  EXPECT_FALSE(bus.topic("bad topic"));
  EXPECT_FALSE(bus.topic(""));
  EXPECT_FALSE(bus.subscribe("a b", [](const Envelope&) {}));
  EXPECT_FALSE(bus.subscribe("a.*", Handler{}));
  EXPECT_FALSE(bus.publisher("no spaces allowed"));
  auto r = pub.publish("not/ok topic", Tick{});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::ErrorCode::kInvalidArgument);
}

TEST_F(PubSub, EachPublisherHasItsOwnSequence) {
  auto other = *bus.publisher("features");
  std::vector<std::pair<std::string, std::uint64_t>> seen;
  (void)bus.subscribe("*", [&](const Envelope& e) {
    seen.emplace_back(std::string(e.source.value()), e.sequence);
  });
  auto t = *bus.topic("feature.update.AAPL");
  pub.publish(t, Tick{});
  other.publish(t, Tick{});
  pub.publish(t, Tick{});
  EXPECT_EQ(seen, (std::vector<std::pair<std::string, std::uint64_t>>{
                      {"marketdata", 1}, {"features", 1}, {"marketdata", 2}}));
}

TEST_F(PubSub, AThrowingHandlerIsCountedAndOthersStillRun) {
  int later = 0;
  (void)bus.subscribe("t.*", [](const Envelope&) { throw std::runtime_error("boom"); });
  (void)bus.subscribe("t.*", [&](const Envelope&) { ++later; });
  (void)pub.publish("t.x", Tick{});
  EXPECT_EQ(later, 1);
  EXPECT_EQ(bus.metrics().handler_errors, 1u);
}

TEST_F(PubSub, HandlersMayPublishAndSubscribeReentrantly) {
  std::vector<std::int64_t> got;
  auto out = *bus.topic("strategy.signal.AAPL");
  (void)bus.subscribe("strategy.*", [&](const Envelope& e) { got.push_back(e.get<Tick>()->n); });
  (void)bus.subscribe("market_data.*", [&](const Envelope& e) {
    auto p = *bus.publisher("strategy");
    p.publish(out, Tick{e.get<Tick>()->n * 10});
    (void)bus.subscribe("market_data.*", [](const Envelope&) {});  // must not deadlock
  });
  (void)pub.publish("market_data.AAPL.bar", Tick{4});
  EXPECT_EQ(got, std::vector<std::int64_t>{40});
}

TEST_F(PubSub, PriorityRangeFiltersWhatASubscriptionSees) {
  std::vector<Priority> critical, rest;
  (void)bus.subscribe("risk.*", [&](const Envelope& e) { critical.push_back(e.priority); },
                      {.min_priority = Priority::kUrgent});
  (void)bus.subscribe("risk.*", [&](const Envelope& e) { rest.push_back(e.priority); },
                      {.max_priority = Priority::kHigh});
  for (Priority p : kPrioritiesHighFirst)
    (void)pub.publish("risk.alert.X", Tick{}, {.priority = p});
  EXPECT_EQ(critical, (std::vector<Priority>{Priority::kFlashCrash, Priority::kUrgent}));
  EXPECT_EQ(rest, (std::vector<Priority>{Priority::kHigh, Priority::kNormal, Priority::kLow}));
}

TEST_F(PubSub, LocalOnlySubscriptionsSkipWhatATransportBroughtIn) {
  int local_only = 0, all = 0;
  (void)bus.subscribe("risk.*", [&](const Envelope&) { ++local_only; }, {.local_only = true});
  (void)bus.subscribe("risk.*", [&](const Envelope&) { ++all; });
  (void)pub.publish("risk.alert.X", Tick{});
  auto topic = *bus.topic("risk.alert.X");
  Envelope imported;
  imported.topic = topic.topic();
  imported.payload = Payload::make(Tick{});
  imported.remote = true;
  (void)pub.forward(topic, imported);
  EXPECT_EQ(local_only, 1);
  EXPECT_EQ(all, 2);
}

TEST_F(PubSub, RetiredMailboxesAreNoLongerListed) {
  auto keep = bus.create_mailbox({.name = "keep"});
  auto gone = bus.create_mailbox({.name = "gone"});
  auto sub = bus.subscribe("risk.*", [](const Envelope&) {}, {.mailbox = gone});
  ASSERT_TRUE(sub);
  ASSERT_TRUE(bus.unsubscribe(*sub));
  bus.retire_mailbox(gone);
  std::vector<std::string> names;
  for (const auto& mb : bus.mailboxes()) names.push_back(mb->name());
  EXPECT_EQ(std::count(names.begin(), names.end(), "gone"), 0);
  EXPECT_EQ(std::count(names.begin(), names.end(), "keep"), 1);
  (void)pub.publish("risk.alert.X", Tick{});  // nothing refers to it any more
}

TEST_F(PubSub, SubscriptionsAreListedWithOwnerAndMailbox) {
  auto mb = bus.create_mailbox({.name = "risk"});
  (void)bus.subscribe("portfolio.*", [](const Envelope&) {}, {.mailbox = mb, .owner = "risk"});
  (void)bus.subscribe("vpin.*", [](const Envelope&) {},
                      {.policy = OverflowPolicy::kConflate, .owner = "strategy"});
  auto subs = bus.subscriptions();
  // The bus's own reply endpoint is listed too.
  ASSERT_EQ(subs.size(), 3u);
  EXPECT_TRUE(subs[0].endpoint);
  EXPECT_EQ(subs[1].pattern, "portfolio.*");
  EXPECT_EQ(subs[1].mailbox, "risk");
  EXPECT_EQ(subs[2].mailbox, "inline");
  EXPECT_EQ(subs[2].owner, "strategy");
}

TEST_F(PubSub, SymbolTopicsResolveEachSymbolOnceAndFollowLaterSubscriptions) {
  SymbolTopics orders(bus, "order.new", ".x");
  const auto aapl = core::Symbol::from_trusted("AAPL");
  auto first = orders.get(aapl);
  ASSERT_TRUE(first);
  EXPECT_EQ((*first)->topic().value(), "order.new.AAPL.x");
  EXPECT_EQ(*orders.get(aapl), *first);  // the same handle, not a new lookup
  EXPECT_NE(*orders.get(core::Symbol::from_trusted("MSFT")), *first);
  std::vector<std::string> got;
  (void)bus.subscribe("order.new.*", [&](const Envelope& e) { got.emplace_back(e.topic.value()); });
  pub.publish(**orders.get(aapl), Tick{1});  // subscribed after the handle was made
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], "order.new.AAPL.x");
  SymbolTopics bad(bus, "has space");
  EXPECT_FALSE(bad.get(aapl));
}

}  // namespace
}  // namespace nautilus::bus
