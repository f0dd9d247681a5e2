// The synthetic market: reproducible from its seed, internally consistent, and with the
// features later engines rely on (U-shaped volume, one-sided flow in informed episodes).
#include "nautilus/marketdata/synthetic.hpp"

#include <gtest/gtest.h>

#include <map>

namespace nautilus::marketdata {
namespace {

std::vector<Record> generate(SyntheticOptions o) {
  SyntheticGenerator g(std::move(o));
  std::vector<Record> all, minute;
  while (g.next_minute(minute)) all.insert(all.end(), minute.begin(), minute.end());
  return all;
}

TEST(Synthetic, SameSeedSameMarketOtherSeedOtherMarket) {
  const SyntheticOptions o{.seed = 7, .symbols = {"AAA", "BBB"}, .days = 1};
  const auto a = generate(o);
  const auto b = generate(o);
  ASSERT_EQ(a.size(), b.size());
  EXPECT_TRUE(a == b);
  auto other = o;
  other.seed = 8;
  EXPECT_FALSE(generate(other) == a);
}

TEST(Synthetic, BarsAgreeWithTheTradesOfTheirMinute) {
  const auto all = generate({.seed = 3, .symbols = {"AAA", "BBB", "CCC"}, .days = 1});
  std::map<std::string_view, double> volume;
  std::map<std::string_view, std::pair<double, double>> range;
  core::UnixNanos last = 0;
  std::size_t bars = 0;
  for (const auto& r : all) {
    ASSERT_GE(record_ts(r), last) << "records out of time order";
    last = record_ts(r);
    if (const auto* t = std::get_if<model::TradeTick>(&r)) {
      volume[t->symbol.value()] += t->size.as_double();
      auto& [lo, hi] = range.try_emplace(t->symbol.value(), 1e18, 0).first->second;
      lo = std::min(lo, t->price.as_double());
      hi = std::max(hi, t->price.as_double());
    } else if (const auto* b = std::get_if<model::Bar>(&r)) {
      ++bars;
      EXPECT_DOUBLE_EQ(b->volume.as_double(), volume[b->symbol.value()]);
      if (auto it = range.find(b->symbol.value()); it != range.end()) {
        EXPECT_LE(b->low.as_double(), it->second.first);
        EXPECT_GE(b->high.as_double(), it->second.second);
      }
      volume.erase(b->symbol.value());
      range.erase(b->symbol.value());
    }
  }
  EXPECT_EQ(bars, 3U * 390U);
}

TEST(Synthetic, IntradayVolumeIsUShaped) {
  const auto all = generate({.seed = 11, .days = 5});
  double open_hour = 0, midday = 0;
  for (const auto& r : all) {
    if (const auto* b = std::get_if<model::Bar>(&r)) {
      const auto minute_of_day = (b->ts_event / 60'000'000'000LL) % 1440;  // UTC
      const auto session_minute = minute_of_day - (14 * 60 + 30) - 1;
      if (session_minute < 60) open_hour += b->volume.as_double();
      if (session_minute >= 165 && session_minute < 225) midday += b->volume.as_double();
    }
  }
  EXPECT_GT(open_hour, 1.5 * midday);
}

TEST(Synthetic, InformedEpisodesAreOneSided) {
  SyntheticGenerator g({.seed = 5, .days = 5, .episodes_per_day = 1.0});
  std::vector<Record> all, minute;
  while (g.next_minute(minute)) all.insert(all.end(), minute.begin(), minute.end());
  ASSERT_FALSE(g.episodes().empty());
  double with = 0, total = 0;
  for (const auto& e : g.episodes()) {
    for (const auto& r : all) {
      const auto* t = std::get_if<model::TradeTick>(&r);
      if (!t || t->symbol.value() != e.symbol || t->ts_event < e.start || t->ts_event >= e.end) {
        continue;
      }
      total += 1;
      const bool buy = t->aggressor == model::AggressorSide::kBuyer;
      if ((e.direction > 0) == buy) with += 1;
    }
  }
  ASSERT_GT(total, 100);
  EXPECT_GT(with / total, 0.75);  // 85% by construction
}

}  // namespace
}  // namespace nautilus::marketdata
