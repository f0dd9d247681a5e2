#include "nautilus/bus/metrics.hpp"

#include <gtest/gtest.h>

#include "nautilus/bus/message_bus.hpp"
#include "test_messages.hpp"

namespace nautilus::bus {
namespace {

TEST(LatencyHistogram, PercentilesWithinBucketResolution) {
  LatencyHistogram h;
  for (int v = 1; v <= 10'000; ++v) h.record(v);
  EXPECT_EQ(h.count(), 10'000u);
  for (double q : {0.5, 0.9, 0.99}) {
    const double exact = q * 10'000;
    EXPECT_GE(h.percentile(q), exact);
    EXPECT_LE(h.percentile(q), exact * 1.0625 + 1) << q;  // 16 sub-buckets: < 6.25% high
  }
  EXPECT_EQ(h.max(), 10'000);
  LatencyHistogram copy = h;
  copy.record(1'000'000);
  EXPECT_EQ(copy.count(), 10'001u);
  EXPECT_EQ(h.count(), 10'000u);
}

TEST(LatencyHistogram, BucketsCoverEveryValueInOrder) {
  std::uint64_t prev_upper = 0;
  for (std::size_t b = 1; b < LatencyHistogram::kBuckets; ++b) {
    const auto upper = LatencyHistogram::bucket_upper(b);
    ASSERT_GT(upper, prev_upper) << b;
    ASSERT_EQ(LatencyHistogram::bucket_of(upper), b);
    ASSERT_EQ(LatencyHistogram::bucket_of(prev_upper + 1), b);
    prev_upper = upper;
  }
  EXPECT_EQ(LatencyHistogram::bucket_of(UINT64_MAX), LatencyHistogram::kBuckets - 1);
}

TEST(BusMetrics, CountsPerFamilyAndPriorityInPrometheusText) {
  core::SimulatedClock clock;
  MessageBus bus({.clock = &clock, .request_timer_thread = false});
  auto pub = *bus.publisher("marketdata");
  (void)bus.subscribe("market_data.*", [](const Envelope&) {});
  (void)bus.subscribe("market_data.*", [](const Envelope&) {});
  for (int i = 0; i < 3; ++i) (void)pub.publish("market_data.AAPL.bar", testing::Tick{});
  (void)pub.publish("risk.alert.X", testing::Tick{}, {.priority = Priority::kUrgent});
  auto m = bus.metrics();
  EXPECT_EQ(m.total_published(), 4u);
  EXPECT_EQ(m.total_delivered(), 6u);
  const std::string text = m.to_prometheus();
  EXPECT_NE(text.find("nautilus_bus_published_total{family=\"market_data\",priority=\"NORMAL\"} 3"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("nautilus_bus_delivered_total{family=\"market_data\",priority=\"NORMAL\"} 6"),
            std::string::npos);
  EXPECT_NE(text.find("nautilus_bus_published_total{family=\"risk\",priority=\"URGENT\"} 1"),
            std::string::npos);
  EXPECT_NE(text.find("# TYPE nautilus_bus_latency_seconds summary"), std::string::npos);
  EXPECT_EQ(m.subscriptions, 2u);
  EXPECT_EQ(m.topics, 2u);
}

}  // namespace
}  // namespace nautilus::bus
