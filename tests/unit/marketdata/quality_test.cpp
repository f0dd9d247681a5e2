// The hub's data-quality checks (src/engines/marketdata/quality.hpp), record by record, and the
// bar store behind marketdata.history.
#include "quality.hpp"

#include <gtest/gtest.h>

#include "nautilus/marketdata/bar_store.hpp"

namespace nautilus::marketdata {
namespace {

const core::Symbol kSym = core::Symbol::from_trusted("AAPL");
constexpr core::UnixNanos kT0 = 1'767'623'400'000'000'000;
constexpr core::UnixNanos kSec = 1'000'000'000;

model::TradeTick trade(core::UnixNanos ts, const char* px, std::uint64_t id) {
  return {kSym,
          *core::Price::from_string(px),
          *core::Quantity::from_string("100"),
          model::AggressorSide::kBuyer,
          id,
          ts};
}
model::QuoteTick quote(core::UnixNanos ts, const char* bid, const char* ask) {
  return {kSym,
          *core::Price::from_string(bid),
          *core::Price::from_string(ask),
          *core::Quantity::from_string("1"),
          *core::Quantity::from_string("1"),
          ts};
}
model::Bar bar(core::UnixNanos ts, const char* close, std::uint32_t interval = 60) {
  const auto c = *core::Price::from_string(close);
  return {kSym, c, c, c, c, *core::Quantity::from_string("10"), interval, ts};
}

TEST(QualityFilter, DropsOutOfOrderAndDuplicateRecordsAndCountsThem) {
  core::SimulatedClock clock(kT0);
  QualityFilter q("replay", {}, &clock, false);
  EXPECT_TRUE(q.admit(trade(kT0 + 2 * kSec, "100.00", 7)));
  EXPECT_FALSE(q.admit(trade(kT0 + 1 * kSec, "100.01", 8)));  // older than the last trade
  EXPECT_FALSE(q.admit(trade(kT0 + 2 * kSec, "100.00", 7)));  // the same trade id again
  EXPECT_TRUE(q.admit(trade(kT0 + 2 * kSec, "100.02", 9)));   // same time, a new trade
  EXPECT_TRUE(q.admit(bar(kT0 + 60 * kSec, "100.0")));
  EXPECT_FALSE(q.admit(bar(kT0 + 60 * kSec, "100.1")));        // a second bar for that close
  EXPECT_TRUE(q.admit(quote(kT0 + kSec, "99.99", "100.01")));  // kinds are ordered separately
  EXPECT_FALSE(q.admit(quote(kT0 + kSec, "99.99", "100.01")));
  EXPECT_EQ(q.count("AAPL", QualityCheck::kOutOfOrder), 1u);
  EXPECT_EQ(q.count("AAPL", QualityCheck::kDuplicate), 3u);
  EXPECT_EQ(q.total(QualityCheck::kSpike), 0u);
}

TEST(QualityFilter, BarsOfDifferentIntervalsAreOrderedApart) {
  QualityFilter q("replay", {}, nullptr, false);
  EXPECT_TRUE(q.admit(bar(kT0 + 60 * kSec, "100")));
  EXPECT_TRUE(q.admit(bar(kT0 + 60 * kSec, "100", 86'400)));  // the daily bar of that close
  EXPECT_TRUE(q.admit(bar(kT0 + 120 * kSec, "100")));
  EXPECT_FALSE(q.admit(bar(kT0 + 60 * kSec, "100", 86'400)));
  EXPECT_EQ(q.count("AAPL", QualityCheck::kDuplicate), 1u);
  EXPECT_EQ(q.count("AAPL", QualityCheck::kOutOfOrder), 0u);
}

TEST(QualityFilter, DropsCrossedQuotesButKeepsLockedOnes) {
  QualityFilter q("ibkr", {}, nullptr, false);
  EXPECT_FALSE(q.admit(quote(kT0, "100.02", "100.01")));
  EXPECT_TRUE(q.admit(quote(kT0, "100.01", "100.01")));
  EXPECT_EQ(q.count("AAPL", QualityCheck::kCrossed), 1u);
}

TEST(QualityFilter, ASpikeIsDroppedUntilEnoughRecordsConfirmTheNewLevel) {
  core::SimulatedClock clock(kT0);
  QualityFilter q("binance", {.spike_band = 0.10, .spike_confirm = 3}, &clock, true);
  EXPECT_TRUE(q.admit(trade(kT0, "100", 1)));
  EXPECT_FALSE(q.admit(trade(kT0 + 1, "150", 2)));  // a bad print
  EXPECT_TRUE(q.admit(trade(kT0 + 2, "101", 3)));   // back to the old level
  // A real jump: the third record at the new level is accepted, and so is the level.
  EXPECT_FALSE(q.admit(trade(kT0 + 3, "80", 4)));
  EXPECT_FALSE(q.admit(trade(kT0 + 4, "80.5", 5)));
  EXPECT_TRUE(q.admit(trade(kT0 + 5, "80.2", 6)));
  EXPECT_TRUE(q.admit(trade(kT0 + 6, "80.1", 7)));
  EXPECT_EQ(q.count("AAPL", QualityCheck::kSpike), 3u);
  // In recorded data a jump is what happened: counted, published, and the new level taken.
  QualityFilter replay("replay", {.spike_band = 0.10}, nullptr, false);
  EXPECT_TRUE(replay.admit(trade(kT0, "100", 1)));
  EXPECT_TRUE(replay.admit(trade(kT0 + 1, "150", 2)));
  EXPECT_TRUE(replay.admit(trade(kT0 + 2, "151", 3)));
  EXPECT_EQ(replay.count("AAPL", QualityCheck::kSpike), 1u);
  // Bars are checked on their close; a band of 0 turns the check off.
  QualityFilter off("replay", {.spike_band = 0}, nullptr, false);
  EXPECT_TRUE(off.admit(bar(kT0, "100")));
  EXPECT_TRUE(off.admit(bar(kT0 + 60 * kSec, "300")));
}

TEST(QualityFilter, LiveRecordsOlderThanTheBoundAreCountedStaleAndStillPublished) {
  core::SimulatedClock clock(kT0 + 10 * kSec);
  QualityFilter live("binance", {.stale_after = std::chrono::milliseconds(5000)}, &clock, true);
  EXPECT_TRUE(live.admit(trade(kT0 + 9 * kSec, "100", 1)));  // 1 s old
  EXPECT_TRUE(live.admit(trade(kT0 + 9 * kSec, "100", 2)));
  EXPECT_TRUE(live.admit(trade(kT0 + 9 * kSec, "100", 3)));
  ASSERT_TRUE(clock.set(kT0 + 20 * kSec));
  EXPECT_TRUE(live.admit(trade(kT0 + 9 * kSec, "100", 4)));  // 11 s old: stale
  EXPECT_EQ(live.count("AAPL", QualityCheck::kStale), 1u);
  // A replay's records are all old on the wall clock: never stale.
  QualityFilter replay("replay", {}, &clock, false);
  EXPECT_TRUE(replay.admit(trade(kT0, "100", 1)));
  EXPECT_EQ(replay.total(QualityCheck::kStale), 0u);
}

TEST(QualityFilter, MetricsCarrySourceSymbolAndCheckForNonZeroCountsOnly) {
  QualityFilter q("binance", {}, nullptr, false);
  (void)q.admit(quote(kT0, "2", "1"));
  net::PrometheusText p;
  q.add_samples(p);
  EXPECT_NE(
      p.str().find(
          R"(nautilus_marketdata_quality_total{source="binance",symbol="AAPL",check="crossed"} 1)"),
      std::string::npos)
      << p.str();
  EXPECT_EQ(p.str().find("duplicate"), std::string::npos);
}

TEST(BarStore, AnswersARangeByCloseTimeInPagesWithWhereTheNextStarts) {
  BarStore store;
  std::vector<model::Bar> bars;
  for (int i = 9; i >= 0; --i) bars.push_back(bar(kT0 + i * 60 * kSec, "100"));  // any order
  bars.push_back(bar(kT0, "100", 86'400));
  store.add(bars);
  EXPECT_EQ(store.size(), 11u);
  EXPECT_EQ(store.series(), 2u);
  auto all = store.range(kSym, 60, 0, 0, 100);
  ASSERT_EQ(all.bars.size(), 10u);
  EXPECT_FALSE(all.more);
  EXPECT_TRUE(std::is_sorted(all.bars.begin(), all.bars.end(),
                             [](const auto& a, const auto& b) { return a.ts_event < b.ts_event; }));
  // [t0+2m, t0+7m] inclusive is six bars; a limit of 4 pages it.
  auto page = store.range(kSym, 60, kT0 + 120 * kSec, kT0 + 420 * kSec, 4);
  ASSERT_EQ(page.bars.size(), 4u);
  EXPECT_EQ(page.bars.front().ts_event, kT0 + 120 * kSec);
  EXPECT_TRUE(page.more);
  EXPECT_EQ(page.next_start, kT0 + 360 * kSec);
  auto rest = store.range(kSym, 60, page.next_start, kT0 + 420 * kSec, 4);
  EXPECT_EQ(rest.bars.size(), 2u);
  EXPECT_FALSE(rest.more);
  EXPECT_FALSE(store.has(kSym, 300));
  EXPECT_TRUE(store.range(core::Symbol::from_trusted("MSFT"), 60, 0, 0, 10).bars.empty());
  // A bar added again for the same close replaces the one held.
  store.add(std::vector<model::Bar>{bar(kT0, "101")});
  EXPECT_EQ(store.range(kSym, 60, kT0, kT0, 1).bars.at(0).close.to_string(), "101");
  EXPECT_EQ(store.size(), 11u);
}

TEST(BarStore, LoadsTheBarFilesAmongTheGivenOnesAndNamesABadFile) {
  const std::string dir = std::string(NAUTILUS_SOURCE_DIR) + "/data/sample/";
  auto store = BarStore::load({dir + "bars_1m.csv.gz", dir + "trades.csv.gz"});
  ASSERT_TRUE(store) << store.error().message;
  EXPECT_GT(store->size(), 100'000u);  // 20 symbols x 21 days x 390 minutes
  EXPECT_EQ(store->series(), 20u);
  auto missing = BarStore::load({dir + "no_such_file.csv"});
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("no_such_file.csv"), std::string::npos);
}

}  // namespace
}  // namespace nautilus::marketdata
