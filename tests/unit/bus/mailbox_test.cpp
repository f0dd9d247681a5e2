// Queued delivery: engine threads, priority overtaking, overflow policies.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "nautilus/bus/message_bus.hpp"
#include "test_messages.hpp"

namespace nautilus::bus {
namespace {

using testing::Tick;

struct Queued : ::testing::Test {
  core::SimulatedClock clock{1};
  MessageBus bus{{.clock = &clock, .request_timer_thread = false}};
  Publisher pub = *bus.publisher("risk");
  TopicHandle topic = *bus.topic("risk.alert.AAPL");

  std::shared_ptr<Mailbox> mailbox(std::array<std::size_t, kPriorityCount> caps) {
    return bus.create_mailbox({.name = "engine", .lane_capacity = caps});
  }
};

TEST_F(Queued, HandlerRunsOnTheEngineThread) {
  auto mb = bus.create_mailbox({.name = "strategy"});
  std::atomic<int> got{0};
  std::thread::id handler_thread;
  (void)bus.subscribe("risk.*",
                      [&](const Envelope& e) {
                        handler_thread = std::this_thread::get_id();
                        got.fetch_add(static_cast<int>(e.get<Tick>()->n));
                      },
                      {.mailbox = mb});
  {
    MailboxThread engine(mb);
    for (int i = 1; i <= 100; ++i) pub.publish(topic, Tick{i});
  }  // destruction drains, then joins
  EXPECT_EQ(got.load(), 5050);
  EXPECT_NE(handler_thread, std::this_thread::get_id());
  EXPECT_EQ(mb->depth(), 0u);
}

TEST_F(Queued, FlashCrashOvertakesAHundredThousandQueuedNormals) {
  auto mb = mailbox({1024, 1 << 17, 1024, 1024, 1024});
  std::vector<Priority> order;
  (void)bus.subscribe("risk.*", [&](const Envelope& e) { order.push_back(e.priority); },
                      {.mailbox = mb});
  for (int i = 0; i < 100'000; ++i) ASSERT_EQ(pub.publish(topic, Tick{i}).queued, 1u);
  pub.publish(topic, Tick{-1}, {.priority = Priority::kFlashCrash});
  EXPECT_EQ(mb->depth(), 100'001u);
  ASSERT_EQ(mb->poll(1), 1u);
  EXPECT_EQ(order[0], Priority::kFlashCrash);
  EXPECT_EQ(mb->poll(), 100'000u);
}

TEST_F(Queued, ASingleThreadMailboxKeepsTheOrderGrowsToItsCapacityAndRefusesAtOnceBeyondIt) {
  // A deterministic host's mailboxes: local rings, no atomics.
  auto mb = bus.create_mailbox(
      {.name = "engine", .lane_capacity = {64, 256, 64, 64, 64}, .single_thread = true});
  std::vector<std::pair<Priority, int>> got;
  (void)bus.subscribe(
      "risk.*", [&](const Envelope& e) { got.emplace_back(e.priority, e.get<Tick>()->n); },
      {.mailbox = mb, .policy = OverflowPolicy::kBlock, .block_bound = std::chrono::seconds(30)});
  for (int i = 0; i < 200; ++i) ASSERT_EQ(pub.publish(topic, Tick{i}).queued, 1u);  // grows
  pub.publish(topic, Tick{-1}, {.priority = Priority::kUrgent});
  EXPECT_EQ(mb->depth(), 201u);
  ASSERT_EQ(mb->poll(10), 10u);  // half drained, then more behind what is left
  for (int i = 200; i < 256 + 9; ++i) ASSERT_EQ(pub.publish(topic, Tick{i}).queued, 1u);
  // Full: refused at once (nobody else could make room), not after the 30 s block bound.
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(pub.publish(topic, Tick{999}).dropped, 1u);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10));
  EXPECT_EQ(mb->poll(), 256u);
  ASSERT_EQ(got.size(), 266u);
  EXPECT_EQ(got[0], std::make_pair(Priority::kUrgent, -1));
  for (int i = 0; i < 265; ++i) ASSERT_EQ(got[1 + i], std::make_pair(Priority::kNormal, i));
  std::uint64_t dropped = 0;
  for (const auto& row : bus.metrics().families) dropped += row.dropped;
  EXPECT_EQ(dropped, 1u);
}

TEST_F(Queued, ASingleThreadMailboxsHandlerMayPublishIntoItsOwnFullLane) {
  // The lane is as full as its 64 first slots when the handlers begin to publish back into
  // it: the ring grows under a handler, and the message being handled must not move (under
  // ASan, delivering in place read freed memory here).
  auto mb = bus.create_mailbox({.name = "engine", .single_thread = true});
  std::vector<std::int64_t> got;
  (void)bus.subscribe("risk.*",
                      [&](const Envelope& e) {
                        const std::int64_t n = e.get<Tick>()->n;
                        if (n < 100) {  // two each: the lane grows while a message is being handled
                          pub.publish(topic, Tick{n + 100});
                          pub.publish(topic, Tick{n + 200});
                        }
                        got.push_back(e.get<Tick>()->n);  // read again after the publish
                        EXPECT_EQ(e.get<Tick>()->n, n);
                      },
                      {.mailbox = mb});
  for (int i = 0; i < 64; ++i) ASSERT_EQ(pub.publish(topic, Tick{i}).queued, 1u);
  EXPECT_EQ(mb->poll(), 192u);
  ASSERT_EQ(got.size(), 192u);
  for (int i = 0; i < 64; ++i) {
    EXPECT_EQ(got[i], i);
    EXPECT_EQ(got[64 + 2 * i], 100 + i);
    EXPECT_EQ(got[65 + 2 * i], 200 + i);
  }
}

TEST_F(Queued, HigherPrioritiesFirstFifoWithinOne) {
  auto mb = mailbox({64, 64, 64, 64, 64});
  std::vector<std::int64_t> order;
  (void)bus.subscribe("risk.*", [&](const Envelope& e) { order.push_back(e.get<Tick>()->n); },
                      {.mailbox = mb});
  const Priority ps[] = {Priority::kLow, Priority::kNormal, Priority::kHigh, Priority::kUrgent,
                         Priority::kFlashCrash};
  for (int round = 0; round < 2; ++round) {
    for (int k = 0; k < 5; ++k) pub.publish(topic, Tick{k * 10 + round}, {.priority = ps[k]});
  }
  mb->poll();
  EXPECT_EQ(order, (std::vector<std::int64_t>{40, 41, 30, 31, 20, 21, 10, 11, 0, 1}));
}

TEST_F(Queued, UrgentArrivingMidBacklogIsNextNotLast) {
  auto mb = mailbox({64, 1024, 64, 64, 64});
  std::vector<std::int64_t> order;
  (void)bus.subscribe("risk.*",
                      [&](const Envelope& e) {
                        const auto n = e.get<Tick>()->n;
                        order.push_back(n);
                        if (n == 10) pub.publish(topic, Tick{-1}, {.priority = Priority::kUrgent});
                      },
                      {.mailbox = mb});
  for (int i = 0; i < 100; ++i) pub.publish(topic, Tick{i});
  mb->poll();
  ASSERT_EQ(order.size(), 101u);
  EXPECT_EQ(order[10], 10);
  EXPECT_EQ(order[11], -1);  // overtook the 89 NORMALs still queued
}

TEST_F(Queued, DropLowFirstRefusesLowBeforeOthersAndCountsIt) {
  // LOW+NORMAL+HIGH hold 24, so LOW is refused from a depth of 12.
  auto mb = mailbox({8, 8, 8, 8, 8});
  (void)bus.subscribe("risk.*", [](const Envelope&) {}, {.mailbox = mb});
  for (int i = 0; i < 8; ++i) EXPECT_EQ(pub.publish(topic, Tick{}).queued, 1u);
  int low_ok = 0;
  for (int i = 0; i < 8; ++i) {
    low_ok += pub.publish(topic, Tick{}, {.priority = Priority::kLow}).queued;
  }
  EXPECT_EQ(low_ok, 4);
  EXPECT_EQ(pub.publish(topic, Tick{}).dropped, 1u);  // NORMAL lane is full
  EXPECT_EQ(pub.publish(topic, Tick{}, {.priority = Priority::kHigh}).queued, 1u);
  auto m = bus.metrics();
  EXPECT_EQ(m.total_dropped(), 5u);
  std::uint64_t low_dropped = 0;
  for (const auto& r : m.families) {
    if (r.priority == Priority::kLow) low_dropped += r.dropped;
  }
  EXPECT_EQ(low_dropped, 4u);
  EXPECT_EQ(mb->poll(), 13u);
}

TEST_F(Queued, BlockWaitsForTheConsumerInsteadOfDropping) {
  auto mb = mailbox({4, 4, 4, 4, 4});
  std::atomic<std::int64_t> sum{0};
  (void)bus.subscribe(
      "risk.*", [&](const Envelope& e) { sum += e.get<Tick>()->n; },
      {.mailbox = mb, .policy = OverflowPolicy::kBlock, .block_bound = std::chrono::seconds(10)});
  {
    MailboxThread engine(mb);
    for (int i = 1; i <= 10'000; ++i) ASSERT_EQ(pub.publish(topic, Tick{i}).dropped, 0u);
  }
  EXPECT_EQ(sum.load(), 10'000LL * 10'001 / 2);
  EXPECT_EQ(bus.metrics().total_dropped(), 0u);
}

TEST_F(Queued, BlockGivesUpAfterItsBoundAndCounts) {
  auto mb = mailbox({2, 2, 2, 2, 2});
  (void)bus.subscribe("risk.*", [](const Envelope&) {},
                      {.mailbox = mb,
                       .policy = OverflowPolicy::kBlock,
                       .block_bound = std::chrono::milliseconds(2)});
  pub.publish(topic, Tick{});
  pub.publish(topic, Tick{});
  EXPECT_EQ(pub.publish(topic, Tick{}).dropped, 1u);  // nobody consumes
  EXPECT_EQ(bus.metrics().total_dropped(), 1u);
}

TEST_F(Queued, CriticalMessagesAreNeverDroppedSilently) {
  auto mb = mailbox({2, 2, 2, 2, 2});
  (void)bus.subscribe("risk.*", [](const Envelope&) {},
                      {.mailbox = mb, .block_bound = std::chrono::milliseconds(1)});
  for (int i = 0; i < 2; ++i) pub.publish(topic, Tick{}, {.priority = Priority::kUrgent});
  EXPECT_EQ(pub.publish(topic, Tick{}, {.priority = Priority::kUrgent}).dropped, 1u);
  const auto m = bus.metrics();
  EXPECT_EQ(m.critical_dropped, 1u);
  EXPECT_NE(m.to_prometheus().find("nautilus_bus_critical_dropped_total 1"), std::string::npos);
}

TEST_F(Queued, ConflateKeepsTheNewestPerTopic) {
  auto mb = mailbox({8, 8, 8, 8, 8});
  std::vector<std::pair<std::string, std::int64_t>> got;
  (void)bus.subscribe(
      "risk.*",
      [&](const Envelope& e) { got.emplace_back(std::string(e.topic.value()), e.get<Tick>()->n); },
      {.mailbox = mb, .policy = OverflowPolicy::kConflate});
  auto other = *bus.topic("risk.alert.MSFT");
  for (int i = 0; i < 100; ++i) {
    pub.publish(topic, Tick{i});
    pub.publish(other, Tick{1000 + i});
  }
  pub.publish(topic, Tick{-5}, {.priority = Priority::kFlashCrash});  // not conflated
  EXPECT_EQ(mb->poll(), 3u);
  EXPECT_EQ(got, (std::vector<std::pair<std::string, std::int64_t>>{
                     {"risk.alert.AAPL", -5}, {"risk.alert.AAPL", 99}, {"risk.alert.MSFT", 1099}}));
  std::uint64_t conflated = 0;
  for (const auto& r : bus.metrics().families) conflated += r.conflated;
  EXPECT_EQ(conflated, 198u);
}

TEST_F(Queued, UnsubscribedMessagesStillQueuedAreDiscardedNotDelivered) {
  auto mb = mailbox({8, 8, 8, 8, 8});
  int calls = 0;
  auto id = *bus.subscribe("risk.*", [&](const Envelope&) { ++calls; }, {.mailbox = mb});
  for (int i = 0; i < 5; ++i) pub.publish(topic, Tick{});
  ASSERT_TRUE(bus.unsubscribe(id));
  EXPECT_EQ(pub.publish(topic, Tick{}).reached(), 0u);
  EXPECT_EQ(mb->poll(), 5u);
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(bus.metrics().mailboxes.at(0).discarded, 5u);
}

TEST_F(Queued, ConcurrentProducersKeepPerSourceOrderAndLoseNothing) {
  core::RealtimeClock rt;
  MessageBus live({.clock = &rt});
  auto mb = live.create_mailbox({.name = "portfolio", .lane_capacity = {64, 256, 64, 64, 64}});
  constexpr int kPerProducer = 50'000;
  std::vector<std::uint64_t> last(2, 0);
  std::atomic<int> received{0};
  bool ordered = true;
  (void)live.subscribe(
      "strategy.*",
      [&](const Envelope& e) {
        auto& l = last[e.source.value() == "p0" ? 0 : 1];
        if (e.sequence != l + 1) ordered = false;
        l = e.sequence;
        received.fetch_add(1, std::memory_order_relaxed);
      },
      {.mailbox = mb, .policy = OverflowPolicy::kBlock, .block_bound = std::chrono::seconds(30)});
  MailboxThread engine(mb);
  std::vector<std::thread> producers;
  for (int p = 0; p < 2; ++p) {
    producers.emplace_back([&, p] {
      auto pub = *live.publisher("p" + std::to_string(p));
      auto t = *live.topic("strategy.signal.X");
      for (int i = 0; i < kPerProducer; ++i) pub.publish(t, Tick{i});
    });
  }
  for (auto& t : producers) t.join();
  engine.stop();
  EXPECT_EQ(received.load(), 2 * kPerProducer);
  EXPECT_TRUE(ordered);
  EXPECT_EQ(live.metrics().total_dropped(), 0u);
  EXPECT_GT(live.metrics().latency.count(), 0u);
}

TEST_F(Queued, ABarrierRunsAfterEverythingQueuedBeforeItInItsLaneAndAbove) {
  auto mb = mailbox({64, 64, 64, 64, 64});
  std::vector<std::string> log;
  (void)bus.subscribe(
      "risk.*",
      [&](const Envelope& e) {
        log.push_back(std::string(to_string(e.priority)) + std::to_string(e.get<Tick>()->n));
      },
      {.mailbox = mb});
  pub.publish(topic, Tick{1});
  pub.publish(topic, Tick{2}, {.priority = Priority::kLow});
  ASSERT_TRUE(mb->post_barrier(Priority::kNormal, [&] { log.push_back("barrier"); }));
  pub.publish(topic, Tick{3}, {.priority = Priority::kHigh});  // after it, but a higher lane
  pub.publish(topic, Tick{4});                                 // after it, same lane
  mb->poll();
  EXPECT_EQ(log, (std::vector<std::string>{"HIGH3", "NORMAL1", "barrier", "NORMAL4", "LOW2"}));
  EXPECT_EQ(bus.metrics().total_delivered(), 4u);  // the barrier is not a message
}

TEST_F(Queued, TinyLanesUnderThreeProducersWrapConstantlyAndLoseNothing) {
  core::RealtimeClock rt;
  MessageBus live({.clock = &rt});
  // Four slots per lane: every few messages the lane is full and the producers must wait for
  // the consumer to publish its head.
  auto mb = live.create_mailbox({.name = "tiny", .lane_capacity = {4, 4, 4, 4, 4}});
  constexpr int kProducers = 3;
  constexpr std::int64_t kEach = 20'000;
  std::vector<std::int64_t> next(kProducers, 0);
  std::atomic<bool> in_order{true};
  std::atomic<std::int64_t> total{0};
  (void)live.subscribe(
      "t.*",
      [&](const Envelope& e) {
        const int who = e.source.value().back() - '0';
        if (e.get<Tick>()->n != next[who]++) in_order = false;
        total.fetch_add(1, std::memory_order_relaxed);
      },
      {.mailbox = mb, .policy = OverflowPolicy::kBlock, .block_bound = std::chrono::seconds(30)});
  MailboxThread engine(mb);
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      auto pub = *live.publisher("p" + std::to_string(p));
      auto t = *live.topic("t.x");
      for (std::int64_t i = 0; i < kEach; ++i) ASSERT_EQ(pub.publish(t, Tick{i}).dropped, 0u);
    });
  }
  for (auto& t : producers) t.join();
  engine.stop();
  EXPECT_EQ(total.load(), kProducers * kEach);
  EXPECT_TRUE(in_order.load());
  EXPECT_EQ(mb->depth(), 0u);
}

}  // namespace
}  // namespace nautilus::bus
