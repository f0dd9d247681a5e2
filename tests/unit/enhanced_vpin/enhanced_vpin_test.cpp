// Enhanced VPIN: trade classification worked by hand, the batch against the one-by-one path,
// the adaptive bucket size, several horizons, and kBvc against nautilus::vpin's calculator.
#include "nautilus/engines/enhanced_vpin/enhanced_vpin.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "nautilus/engines/vpin/vpin.hpp"

namespace nautilus::enhanced_vpin {
namespace {

constexpr UnixNanos kT0 = 1'767'623'400'000'000'000;  // 2026-01-05T14:30:00Z
constexpr UnixNanos kSec = vpin::kNanosPerSecond;
constexpr auto kNone = AggressorSide::kNone;
constexpr auto kBuyer = AggressorSide::kBuyer;
constexpr auto kSeller = AggressorSide::kSeller;

Classifier make(Mode mode) { return *Classifier::create(mode); }

TEST(Classifier, TheTickRuleCarriesTheLastDirectionThroughEqualPrices) {
  // 10 (first: no history, 0.5), 10 (zero tick: still 0.5), 11 (up: 1), 11 (zero tick after an
  // uptick: 1), 10.5 (down: 0), 10.5 (0), 10.6 (up: 1).
  auto c = make(Mode::kTickRule);
  const double prices[] = {10, 10, 11, 11, 10.5, 10.5, 10.6};
  const double want[] = {0.5, 0.5, 1, 1, 0, 0, 1};
  for (int i = 0; i < 7; ++i) EXPECT_EQ(c.classify(prices[i], kNone, kT0 + i), want[i]) << i;
}

TEST(Classifier, LeeReadyAtTheMidFallsBackToTheTickRule) {
  // Quote 10.00/10.20, mid 10.10. 10.15 above: buy. 10.05 below: sell. 10.10 at the mid: tick
  // rule, up from 10.05: buy. 10.10 again at the mid: zero tick, still buy.
  auto c = make(Mode::kLeeReady);
  c.on_quote(10.0, 10.2, kT0);
  EXPECT_EQ(c.classify(10.15, kNone, kT0 + 1), 1.0);
  EXPECT_EQ(c.classify(10.05, kNone, kT0 + 2), 0.0);
  EXPECT_EQ(c.classify(10.10, kNone, kT0 + 3), 1.0);
  EXPECT_EQ(c.classify(10.10, kNone, kT0 + 4), 1.0);
}

TEST(Classifier, LeeReadyUsesTheQuoteInForceAtTheTradesTime) {
  auto c = make(Mode::kLeeReady);
  EXPECT_EQ(c.classify(10.2, kNone, kT0), 0.5) << "no quote yet and no tick history";
  c.on_quote(10.0, 10.2, kT0 + 5 * kSec);   // mid 10.1
  c.on_quote(10.2, 10.4, kT0 + 10 * kSec);  // mid 10.3
  EXPECT_EQ(c.classify(10.2, kNone, kT0 + 7 * kSec), 1.0) << "late trade: against mid 10.1";
  EXPECT_EQ(c.classify(10.2, kNone, kT0 + 10 * kSec), 0.0) << "a quote at the same ts is in force";
  EXPECT_TRUE(std::isnan(c.mid_at(kT0 + 4 * kSec))) << "before the first quote";
  c.on_quote(10.5, 10.4, kT0 + 11 * kSec);  // crossed: the mid is unknown
  EXPECT_TRUE(std::isnan(c.mid_at(kT0 + 12 * kSec)));
  EXPECT_EQ(c.classify(10.3, kNone, kT0 + 12 * kSec), 1.0) << "tick rule: 10.3 > 10.2";
}

TEST(Classifier, AutoTakesTheAggressorSideThenLeeReadyThenTheTickRule) {
  auto c = make(Mode::kAuto);
  EXPECT_EQ(c.classify(10.0, kSeller, kT0), 0.0);
  EXPECT_EQ(c.classify(9.0, kBuyer, kT0 + 1), 1.0) << "the side wins over a downtick";
  EXPECT_EQ(c.classify(9.5, kNone, kT0 + 2), 1.0) << "no side, no quote: tick rule, up";
  c.on_quote(9.6, 9.8, kT0 + 3);
  EXPECT_EQ(c.classify(9.6, kNone, kT0 + 4), 0.0) << "below the mid 9.7, though an uptick";
  auto a = make(Mode::kAggressor);
  EXPECT_EQ(a.classify(10, kNone, kT0), 0.5) << "no side: unknown";
  EXPECT_EQ(a.classify(10, kBuyer, kT0), 1.0);
  EXPECT_FALSE(Classifier::create(Mode::kBvc)) << "bulk classification is by bars";
}

TEST(Classifier, TheBatchAgreesWithOneByOneInEveryMode) {
  std::mt19937_64 rng(5);
  std::uniform_int_distribution<int> tick(-2, 2);
  std::uniform_int_distribution<int> side(0, 2);
  std::uniform_real_distribution<double> u(0, 1);
  const std::size_t n = 5000;
  std::vector<double> prices(n), mids(n), out(n);
  std::vector<AggressorSide> sides(n);
  double p = 100;
  for (std::size_t i = 0; i < n; ++i) {
    p += 0.01 * tick(rng);  // many zero ticks
    prices[i] = p;
    sides[i] = static_cast<AggressorSide>(side(rng));
    const double r = u(rng);  // mid below, at, above the price, or unknown
    mids[i] = r < 0.1 ? NAN : r < 0.4 ? p : r < 0.7 ? p - 0.005 : p + 0.005;
  }
  for (Mode mode : {Mode::kAuto, Mode::kAggressor, Mode::kTickRule, Mode::kLeeReady}) {
    auto batch = make(mode);
    auto one = make(mode);
    // In two halves, so the tick state is seen to carry from one batch to the next.
    const std::size_t h = n / 2;
    ASSERT_TRUE(batch.classify(std::span(prices).first(h), std::span(sides).first(h),
                               std::span(mids).first(h), std::span(out).first(h)));
    ASSERT_TRUE(batch.classify(std::span(prices).subspan(h), std::span(sides).subspan(h),
                               std::span(mids).subspan(h), std::span(out).subspan(h)));
    for (std::size_t i = 0; i < n; ++i) {
      // A quote with bid = ask = mid gives exactly that mid; bid = ask = 0 gives none.
      const double m = std::isnan(mids[i]) ? 0.0 : mids[i];
      one.on_quote(m, m, static_cast<UnixNanos>(i));
      ASSERT_EQ(out[i], one.classify(prices[i], sides[i], static_cast<UnixNanos>(i)))
          << "mode " << static_cast<int>(mode) << " trade " << i;
    }
  }
  auto c = make(Mode::kAuto);
  EXPECT_FALSE(c.classify(prices, std::span(sides).first(3), mids, out)) << "sizes differ";
  EXPECT_TRUE(c.classify(prices, {}, {}, out)) << "kAuto without sides or mids: tick rule";
}

EnhancedVpinOptions base() {
  return {.mode = Mode::kAggressor,
          .initial_bucket_volume = 100,
          .adv_days = 2,
          .buckets_per_day = 2,
          .windows = {2, 4},
          .primary_window = 4,
          .toxicity = {.history = 10, .min_history = 1}};
}

TEST(EnhancedVpin, EveryHorizonWarmsUpOnItsOwn) {
  // One buy of 100 then sells of 100: bucket OIs 1, 1, 1, 1 (all one-sided); then a 50/50
  // bucket (OI 0): VPIN(2) = 0.5, VPIN(4) = 0.75.
  auto ev = *EnhancedVpin::create(base());
  std::vector<EnhancedResult> out;
  ev.on_trade(10, 100, kBuyer, kT0, out);
  for (int i = 1; i < 4; ++i) ev.on_trade(10, 100, kSeller, kT0 + i, out);
  ev.on_trade(10, 50, kBuyer, kT0 + 4, out);
  ev.on_trade(10, 50, kSeller, kT0 + 5, out);
  ASSERT_EQ(out.size(), 5u);
  EXPECT_TRUE(std::isnan(out[0].vpin[0]));
  EXPECT_EQ(out[1].vpin[0], 1.0);
  EXPECT_TRUE(std::isnan(out[2].vpin[1]));
  EXPECT_EQ(out[3].vpin[1], 1.0);
  EXPECT_EQ(out[4].vpin[0], 0.5);
  EXPECT_EQ(out[4].vpin[1], 0.75);
  EXPECT_EQ(out[4].primary_vpin, 0.75);
  EXPECT_EQ(out[4].horizons, 2);
  EXPECT_TRUE(std::isnan(out[4].vpin[2]));
  EXPECT_TRUE(std::isnan(out[2].cdf)) << "the primary (4) has no VPIN yet";
  EXPECT_EQ(out[4].cdf, 0.5) << "0.75 in {1, 0.75}";
  EXPECT_EQ(out[4].ts, kT0 + 5);
}

TEST(EnhancedVpin, TheBucketSizeFollowsDailyVolumeAtBucketBoundaries) {
  // Day 1: V = 100 (the initial size); 9 buys of 100 fill 9 buckets, a buy of 60 opens bucket 9.
  // Day 2's first trade (a sell of 140) completes day 1: ADV 960, V = 960 / 2 = 480 from the
  // next boundary. Bucket 9, open when it came, still closes at 100 (60 bought, 40 sold); the
  // 100 sold left over start bucket 10, of 480, which a sell of 380 completes.
  auto ev = *EnhancedVpin::create(base());
  std::vector<EnhancedResult> out;
  for (int i = 0; i < 9; ++i) ev.on_trade(10, 100, kBuyer, kT0 + i, out);
  ev.on_trade(10, 60, kBuyer, kT0 + 20, out);
  ASSERT_EQ(out.size(), 9u);
  EXPECT_EQ(ev.bucket_volume(), 100);
  const UnixNanos day2 = kT0 + vpin::kNanosPerDay;
  ev.on_trade(10, 140, kSeller, day2, out);
  ASSERT_EQ(out.size(), 10u);
  EXPECT_EQ(out[9].bucket_volume, 100);
  EXPECT_EQ(out[9].buy, 60);
  EXPECT_EQ(out[9].sell, 40);
  EXPECT_EQ(*ev.average_daily_volume(), 960);
  EXPECT_EQ(ev.bucket_volume(), 480);
  EXPECT_EQ(ev.bucket_fill(), 100);
  ev.on_trade(10, 379, kSeller, day2 + 1, out);
  EXPECT_EQ(out.size(), 10u) << "1 short of 480";
  ev.on_trade(10, 1, kSeller, day2 + 2, out);
  ASSERT_EQ(out.size(), 11u);
  EXPECT_EQ(out[10].bucket_volume, 480);
  EXPECT_EQ(out[10].sell, 480);
}

TEST(EnhancedVpin, BulkModeGivesWhatTheBvcCalculatorGives) {
  // The same trades, as kBvc, and through TimeBarBuilder into vpin::VpinCalculator with the
  // same options (a fixed V: no date completes in one session).
  const vpin::BvcOptions bvc{.cdf = vpin::BarCdf::kStudentT, .df = 0.25};
  auto ev = *EnhancedVpin::create({.mode = Mode::kBvc,
                                   .initial_bucket_volume = 5000,
                                   .windows = {50},
                                   .primary_window = 50,
                                   .bvc = bvc});
  auto calc = *vpin::VpinCalculator::create({.bucket_volume = 5000, .window = 50, .bvc = bvc});
  auto bars = *vpin::TimeBarBuilder::create(60);
  std::mt19937_64 rng(9);
  std::normal_distribution<double> step(0, 0.02);
  std::uniform_int_distribution<int> size(1, 500);
  std::vector<EnhancedResult> got;
  std::vector<vpin::BucketResult> want;
  double p = 50;
  for (int i = 0; i < 20'000; ++i) {
    p += step(rng);
    const double s = size(rng);
    const UnixNanos ts = kT0 + i * kSec;  // 6.5 hours of trades, one a second
    ev.on_trade(p, s, kNone, ts, got);
    if (auto b = bars.on_trade(p, s, ts)) calc.on_bar(*b, want);
  }
  ev.flush([&](const EnhancedResult& r) { got.push_back(r); });
  if (auto b = bars.flush()) calc.on_bar(*b, want);
  ASSERT_EQ(got.size(), want.size());
  ASSERT_GT(got.size(), 500u);
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].buy, want[i].buy);
    EXPECT_EQ(got[i].ts, want[i].ts);
    ASSERT_TRUE(std::isnan(want[i].vpin) ? std::isnan(got[i].vpin[0])
                                         : got[i].vpin[0] == want[i].vpin);
  }
}

TEST(EnhancedVpin, BadOptionsAreRefusedWithAReason) {
  auto bad = [](EnhancedVpinOptions o) {
    auto ev = EnhancedVpin::create(o);
    EXPECT_FALSE(ev);
    return ev ? std::string() : ev.error().message;
  };
  auto o = base();
  o.initial_bucket_volume = 0;
  EXPECT_NE(bad(o).find("bucket_volume"), std::string::npos);
  o = base();
  o.primary_window = 50;
  EXPECT_NE(bad(o).find("primary_window"), std::string::npos);
  o = base();
  o.windows = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  EXPECT_NE(bad(o).find("windows"), std::string::npos);
  o = base();
  o.adv_days = 0;
  EXPECT_NE(bad(o).find("adv_days"), std::string::npos);
  o = base();
  o.mode = Mode::kBvc;
  o.bvc.df = -1;
  EXPECT_NE(bad(o).find("df"), std::string::npos);
}

TEST(EnhancedVpin, BadTradesAreCountedAndChangeNothing) {
  auto ev = *EnhancedVpin::create(base());
  std::vector<EnhancedResult> out;
  ev.on_trade(10, 0, kBuyer, kT0, out);
  ev.on_trade(NAN, 10, kBuyer, kT0, out);
  ev.on_trade(10, INFINITY, kBuyer, kT0, out);
  EXPECT_EQ(ev.rejected(), 3u);
  EXPECT_EQ(ev.bucket_fill(), 0);
  EXPECT_FALSE(ev.on_bar(vpin::TimeBar{}, [](const EnhancedResult&) {})) << "bars are kBvc's";
}

}  // namespace
}  // namespace nautilus::enhanced_vpin
