// BVC-VPIN: hand-worked cases, properties, and every bucket of a random series checked against
// an independent reference (tests/reference/vpin_reference.py, numpy, written from the paper's
// definitions: cumulative-volume bucket overlaps, windowed sums, np.std, not this code's steps).
#include "nautilus/engines/vpin/vpin.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <new>
#include <random>
#include <sstream>
#include <string>
#include <vector>

// Counts heap allocations, to show on_bar allocates nothing in steady state. (GCC sees the
// replaced operators' malloc and free inlined into std::allocator and warns; they do match.)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
namespace {
std::atomic<std::size_t> g_allocations{0};
}
void* operator new(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#pragma GCC diagnostic pop

namespace nautilus::vpin {
namespace {

constexpr UnixNanos kT0 = 1'767'623'400'000'000'000;  // 2026-01-05T14:30:00Z, a session open
constexpr UnixNanos kMinute = 60 * kNanosPerSecond;

TimeBar bar(double open, double close, double volume, int minute) {
  return {.open = open, .close = close, .volume = volume, .ts_close = kT0 + minute * kMinute};
}

VpinCalculator make(VpinOptions o) {
  auto c = VpinCalculator::create(o);
  EXPECT_TRUE(c.has_value()) << (c ? "" : c.error().message);
  return std::move(*c);
}

std::vector<BucketResult> feed(VpinCalculator& c, const std::vector<TimeBar>& bars) {
  std::vector<BucketResult> out;
  for (const TimeBar& b : bars) c.on_bar(b, out);
  return out;
}

// ---- Hand-worked cases ----

TEST(Vpin, ABarSpanningThreeBucketsCompletesEachWithItsOwnZ) {
  // V = 100, window 1, σ fixed at 1, ΔP within the bar.
  // Bar 1: ΔP 0, z = 0.5, 50 shares -> open bucket: buy 25, sell 25, fill 50.
  // Bar 2: ΔP 1, z = Φ(1) = 0.841344746..., 300 shares:
  //   bucket 0 takes 50: buy 25 + 50z = 67.067, sell 25 + 50(1−z) = 32.933, OI 0.341345
  //   bucket 1 takes 100: buy 100z = 84.134, sell 15.866, OI 2z − 1 = 0.682689
  //   bucket 2 takes 100: the same; 50 shares are left in bucket 3.
  auto c = make({.bucket_volume = 100,
                 .window = 1,
                 .bvc = {.dp = PriceChange::kWithin, .sigma = SigmaOptions::fixed(1.0)}});
  const double z = 0.8413447460685429;
  auto out = feed(c, {bar(10, 10, 50, 1), bar(10, 11, 300, 2)});
  ASSERT_EQ(out.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(out[i].index, i);
    EXPECT_EQ(out[i].ts, kT0 + 2 * kMinute) << "the bar that completed it";
    EXPECT_NEAR(out[i].buy + out[i].sell, 100, 1e-12);
  }
  EXPECT_NEAR(out[0].buy, 25 + 50 * z, 1e-12);
  EXPECT_NEAR(out[0].sell, 25 + 50 * (1 - z), 1e-12);
  EXPECT_NEAR(out[0].vpin, 0.5 * (2 * z - 1), 1e-12);
  EXPECT_NEAR(out[1].buy, 100 * z, 1e-12);
  EXPECT_NEAR(out[1].vpin, 2 * z - 1, 1e-12);
  EXPECT_NEAR(out[2].vpin, 2 * z - 1, 1e-12);
  EXPECT_EQ(c.buckets(), 3u);
  EXPECT_DOUBLE_EQ(c.bucket_fill(), 50);
}

TEST(Vpin, AZeroVolumeBarChangesNothingNotEvenThePreviousClose) {
  // kClose: were the zero-volume bar's close of 50 taken as the previous close, the next bar's
  // ΔP would be +50 instead of +1.
  VpinOptions o{.bucket_volume = 100, .window = 1, .bvc = {.sigma = SigmaOptions::fixed(1.0)}};
  auto with = make(o);
  auto without = make(o);
  auto a = feed(with, {bar(10, 10, 100, 1), bar(60, 50, 0, 2), bar(10, 11, 100, 3)});
  auto b = feed(without, {bar(10, 10, 100, 1), bar(10, 11, 100, 3)});
  ASSERT_EQ(a.size(), 2u);
  ASSERT_EQ(b.size(), 2u);
  EXPECT_DOUBLE_EQ(a[1].buy, b[1].buy);
  EXPECT_NEAR(a[1].buy, 100 * 0.8413447460685429, 1e-12);  // ΔP = 11 − 10
  EXPECT_EQ(with.rejected_bars(), 0u) << "zero volume is not an error";
  std::vector<BucketResult> out;
  with.on_bar(bar(10, 11, -5, 4), out);
  with.on_bar(bar(NAN, 11, 5, 5), out);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(with.rejected_bars(), 2u);
}

TEST(Vpin, FlatPricesGiveSigmaZeroSoEveryBarSplitsEvenlyAndVpinIsZero) {
  // Every ΔP is 0: σ = 0, z = 0.5 for every bar, each bucket 50/50, OI 0.
  auto c = make({.bucket_volume = 100, .window = 2});
  std::vector<TimeBar> bars;
  for (int i = 1; i <= 6; ++i) bars.push_back(bar(20, 20, 70, i));
  auto out = feed(c, bars);
  ASSERT_EQ(out.size(), 4u);  // 420 shares
  for (const auto& r : out) {
    EXPECT_DOUBLE_EQ(r.buy, 50);
    EXPECT_DOUBLE_EQ(r.sell, 50);
  }
  EXPECT_TRUE(std::isnan(out[0].vpin)) << "warm-up: one bucket of a window of two";
  EXPECT_EQ(out[1].vpin, 0);
  EXPECT_EQ(c.sigma(), 0);
}

TEST(Vpin, VpinIsNanUntilTheWindowHasFilledThenTheMeanImbalance) {
  // σ fixed 1, within; one bar per bucket: ΔP = +1, −1, +2 -> OI = 2Φ(|ΔP|) − 1.
  auto c = make({.bucket_volume = 10,
                 .window = 3,
                 .bvc = {.dp = PriceChange::kWithin, .sigma = SigmaOptions::fixed(1.0)}});
  auto out = feed(c, {bar(10, 11, 10, 1), bar(11, 10, 10, 2), bar(10, 12, 10, 3)});
  ASSERT_EQ(out.size(), 3u);
  EXPECT_TRUE(std::isnan(out[0].vpin));
  EXPECT_TRUE(std::isnan(out[1].vpin));
  const double oi1 = 2 * 0.8413447460685429 - 1;  // Φ(1)
  const double oi2 = 2 * 0.9772498680518208 - 1;  // Φ(2)
  EXPECT_NEAR(out[2].vpin, (oi1 + oi1 + oi2) / 3, 1e-14);
}

TEST(Vpin, SampleSigmaNeedsTwoPriceChangesAndIncludesTheCurrentBar) {
  // kSample, within: bar 1 ΔP +1 (one ΔP: no σ, z = 0.5); bar 2 ΔP −1: σ = std(+1, −1) = √2,
  // z = Φ(−1/√2) = 0.23975006109347674.
  auto c = make({.bucket_volume = 10, .window = 1, .bvc = {.dp = PriceChange::kWithin}});
  auto out = feed(c, {bar(10, 11, 10, 1), bar(11, 10, 10, 2)});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_DOUBLE_EQ(out[0].buy, 5);
  EXPECT_NEAR(out[1].buy, 10 * 0.23975006109347674, 1e-13);
  EXPECT_NEAR(c.sigma(), std::sqrt(2.0), 1e-15);
}

TEST(Vpin, TheFirstBarUsesCloseMinusOpenUnderCloseToClose) {
  // kClose, σ fixed 1: bar 1 has no previous close, ΔP = 11 − 10 = 1; bar 2 ΔP = 12 − 11 = 1
  // although its own open-to-close is 0.
  auto c = make({.bucket_volume = 10, .window = 1, .bvc = {.sigma = SigmaOptions::fixed(1.0)}});
  auto out = feed(c, {bar(10, 11, 10, 1), bar(12, 12, 10, 2)});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_NEAR(out[0].buy, 8.413447460685429, 1e-13);
  EXPECT_NEAR(out[1].buy, 8.413447460685429, 1e-13);
}

TEST(Vpin, TheAlertFiresOnAnUpwardCrossingAndReArmsOnlyBelowTheThreshold) {
  AlertLatch latch(0.9);
  EXPECT_FALSE(latch.update(NAN));
  EXPECT_FALSE(latch.update(0.95)) << "the first CDF is not a crossing";
  EXPECT_FALSE(latch.update(0.5));
  EXPECT_TRUE(latch.update(0.92)) << "0.5 -> 0.92 crosses";
  EXPECT_FALSE(latch.update(0.97)) << "still above: no new crossing";
  EXPECT_FALSE(latch.update(NAN)) << "NaN changes nothing";
  EXPECT_FALSE(latch.update(0.93));
  EXPECT_FALSE(latch.update(0.89)) << "re-armed";
  EXPECT_TRUE(latch.update(0.9)) << "at the threshold counts";
}

TEST(Vpin, TheEmpiricalCdfCountsTheCurrentValueInItsHistory) {
  // history 3, min 2. W = {0.1}: NaN. {0.1, 0.3}: 0.3 is the max -> 2/2. {0.1, 0.3, 0.2}: two
  // <= 0.2 -> 2/3. {0.3, 0.2, 0.05} (0.1 left): one -> 1/3. NaN is not history.
  auto cdf = *VpinCdf::create({.history = 3, .min_history = 2});
  EXPECT_TRUE(std::isnan(cdf.push(0.1)));
  EXPECT_DOUBLE_EQ(cdf.push(0.3), 1.0);
  EXPECT_TRUE(std::isnan(cdf.push(NAN)));
  EXPECT_DOUBLE_EQ(cdf.push(0.2), 2.0 / 3);
  EXPECT_DOUBLE_EQ(cdf.push(0.05), 1.0 / 3);
  EXPECT_EQ(cdf.count(), 3u);
}

TEST(Vpin, TheEmpiricalCdfMatchesACountOverTheWindowWithManyTies) {
  // Values from a set of 20, so ties are exact and common; the sorted history is shifted in
  // place as the oldest value leaves, which this checks against counting afresh.
  auto cdf = *VpinCdf::create({.history = 64, .min_history = 1});
  std::mt19937_64 rng(17);
  std::uniform_int_distribution<int> pick(0, 19);
  std::vector<double> all;
  for (int i = 0; i < 5000; ++i) {
    const double v = pick(rng) / 19.0;
    all.push_back(v);
    const std::size_t from = all.size() > 64 ? all.size() - 64 : 0;
    std::size_t le = 0;
    for (std::size_t k = from; k < all.size(); ++k) le += all[k] <= v;
    ASSERT_EQ(cdf.push(v), static_cast<double>(le) / static_cast<double>(all.size() - from)) << i;
  }
}

TEST(Vpin, TheLognormalCdfFitsTheLogsOfThePositiveHistory) {
  // W = {e^-2, e^-1, 0, e^0}: positives' logs {−2, −1, 0}: μ = −1, s = 1. At e^0: Φ(1).
  auto cdf = *VpinCdf::create({.kind = VpinCdfKind::kLognormal, .history = 0, .min_history = 3});
  EXPECT_TRUE(std::isnan(cdf.push(std::exp(-2.0))));
  EXPECT_TRUE(std::isnan(cdf.push(std::exp(-1.0))));
  EXPECT_EQ(cdf.push(0.0), 0.0) << "0 is below every lognormal value";
  EXPECT_NEAR(cdf.push(1.0), 0.8413447460685429, 1e-14);
}

TEST(Vpin, TheAlertOfTheCalculatorFollowsItsCdf) {
  // One bar per bucket, σ fixed 1. First 60 bars with ΔP falling from 0.5 to 0.205: each VPIN
  // is below all before it, so its CDF is 1/count (it arms the latch once there are 10). Then a
  // burst with ΔP = 2: VPIN rises to new maxima, CDF 1, the alert, once.
  auto c = make({.bucket_volume = 100,
                 .window = 5,
                 .bvc = {.dp = PriceChange::kWithin, .sigma = SigmaOptions::fixed(1.0)},
                 .toxicity = {.history = 50, .min_history = 10, .threshold = 0.9}});
  std::vector<TimeBar> bars;
  int m = 0;
  for (int i = 0; i < 60; ++i) bars.push_back(bar(10, 10.5 - 0.005 * i, 100, ++m));
  for (int i = 0; i < 10; ++i) bars.push_back(bar(10, 12, 100, ++m));
  auto out = feed(c, bars);
  ASSERT_EQ(out.size(), 70u);
  EXPECT_NEAR(out[59].cdf, 1.0 / 50, 1e-15);
  // The window of 5 takes a couple of burst buckets to pass the oldest VPIN in the history.
  std::vector<std::size_t> alerts;
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (out[i].alert) alerts.push_back(i);
  }
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_GE(alerts[0], 60u);
  EXPECT_LT(alerts[0], 65u);
  EXPECT_LT(out[alerts[0] - 1].cdf, 0.9);
  EXPECT_DOUBLE_EQ(out[alerts[0]].cdf, 1.0) << "a new maximum";
  EXPECT_DOUBLE_EQ(out.back().cdf, 1.0);
  EXPECT_GT(out.back().vpin, 3 * out[59].vpin);
}

// ---- Properties ----

TEST(Vpin, AOneSidedBurstRaisesVpin) {
  std::mt19937_64 rng(7);
  std::normal_distribution<double> step(0, 0.05);
  auto c = make({.bucket_volume = 5000, .window = 20});
  std::vector<BucketResult> out;
  double p = 100;
  int m = 0;
  for (int i = 0; i < 2000; ++i, ++m) {
    const double close = p + step(rng);
    c.on_bar(bar(p, close, 1000, m), out);
    p = close;
  }
  const double before = c.vpin();
  for (int i = 0; i < 100; ++i, ++m) {
    c.on_bar(bar(p, p + 0.2, 3000, m), out);  // steady buying: every bar well up
    p += 0.2;
  }
  EXPECT_GT(c.vpin(), before + 0.3) << "before " << before << ", after " << c.vpin();
  EXPECT_GT(c.vpin(), 0.6);
}

TEST(Vpin, HowABarsVolumeIsFedDoesNotChangeTheBuckets) {
  // One bar of 3V, and three bars of V with the same z (σ fixed, same ΔP within each bar).
  VpinOptions o{.bucket_volume = 250,
                .window = 2,
                .bvc = {.dp = PriceChange::kWithin, .sigma = SigmaOptions::fixed(0.5)}};
  auto one = make(o);
  auto three = make(o);
  auto a = feed(one, {bar(10, 10, 100, 1), bar(10, 10.3, 750, 2)});
  auto b = feed(three, {bar(10, 10, 100, 1), bar(10, 10.3, 250, 2), bar(10, 10.3, 250, 2),
                        bar(10, 10.3, 250, 2)});
  ASSERT_EQ(a.size(), 3u);
  ASSERT_EQ(b.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_NEAR(a[i].buy, b[i].buy, 1e-12);
    EXPECT_NEAR(a[i].sell, b[i].sell, 1e-12);
    EXPECT_TRUE(std::isnan(a[i].vpin) ? std::isnan(b[i].vpin)
                                      : std::abs(a[i].vpin - b[i].vpin) < 1e-14);
  }
  EXPECT_DOUBLE_EQ(one.bucket_fill(), three.bucket_fill());
}

TEST(Vpin, TheRunningSumDoesNotDriftOverMillionsOfBuckets) {
  auto w = *VpinWindow::create(50);
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<double> last(50);
  for (int i = 0; i < 3'000'000; ++i) {
    const double x = i % 1000 < 3 ? 1e-9 : u(rng);  // now and then tiny values among large
    last[i % 50] = x;
    w.push(x);
  }
  long double exact = 0;
  for (double x : last) exact += x;
  const double want = static_cast<double>(exact / 50);
  EXPECT_NEAR(w.value(), want, 1e-12 * want);
}

TEST(Vpin, OnBarAllocatesNothingInSteadyState) {
  auto c = make({.bucket_volume = 3000, .toxicity = {.history = 500}});
  std::vector<BucketResult> out;
  out.reserve(1 << 16);
  std::mt19937_64 rng(3);
  std::normal_distribution<double> step(0, 0.05);
  double p = 100;
  std::vector<TimeBar> bars;
  for (int i = 0; i < 200'000; ++i) {
    const double close = p + step(rng);
    bars.push_back(bar(p, close, 1000, i));
    p = close;
  }
  for (int i = 0; i < 100'000; ++i) c.on_bar(bars[i], out);  // fills every ring once
  out.clear();
  const std::size_t before = g_allocations.load();
  for (int i = 100'000; i < 200'000; ++i) c.on_bar(bars[i], out);
  EXPECT_EQ(g_allocations.load() - before, 0u);
  EXPECT_GT(out.size(), 30'000u);
}

// ---- Bars, daily volume, helpers, options ----

TEST(Vpin, TimeBarsAlignToTheMinuteAndSkipEmptyIntervals) {
  auto b = *TimeBarBuilder::create(60);
  const UnixNanos s = kNanosPerSecond;
  EXPECT_FALSE(b.on_trade(10.0, 100, kT0 + 5 * s));
  EXPECT_FALSE(b.on_trade(10.5, 50, kT0 + 59 * s));
  EXPECT_FALSE(b.on_trade(9.0, 7, kT0 + 30 * s - 2 * kMinute)) << "late: joins the open bar";
  auto first = b.on_trade(10.2, 10, kT0 + 60 * s);  // 14:31:00 opens the next bar
  ASSERT_TRUE(first);
  EXPECT_EQ(
      *first,
      (TimeBar{
          .open = 10.0, .close = 10.5, .volume = 157, .ts_close = kT0 + kMinute, .trades = 3}));
  auto second = b.on_trade(11.0, 1, kT0 + 190 * s);  // 14:33:10: no bar for 14:32
  ASSERT_TRUE(second);
  EXPECT_EQ(second->ts_close, kT0 + 2 * kMinute);
  auto last = b.flush();
  ASSERT_TRUE(last);
  EXPECT_EQ(last->ts_close, kT0 + 4 * kMinute);
  EXPECT_FALSE(b.flush());
  EXPECT_FALSE(TimeBarBuilder::create(0));
}

TEST(Vpin, DailyVolumeAveragesTheLastCompletedDates) {
  auto d = *DailyVolume::create(2);
  const UnixNanos day = kNanosPerDay;
  EXPECT_FALSE(d.add(kT0, 60));
  EXPECT_FALSE(d.add(kT0 + kMinute, 40));
  EXPECT_FALSE(d.average()) << "no date has completed";
  EXPECT_TRUE(d.add(kT0 + day, 300));  // day 2 opens: day 1 (100) completes
  EXPECT_EQ(*d.average(), 100);
  EXPECT_TRUE(d.add(kT0 + 3 * day, 50));  // day 3 had no trades: not a date
  EXPECT_EQ(*d.average(), 200);           // (100 + 300) / 2
  EXPECT_TRUE(d.add(kT0 + 4 * day, 1));
  EXPECT_EQ(*d.average(), 175);  // (300 + 50) / 2
  EXPECT_EQ(d.completed_days(), 3u);
  // A bar ending at midnight traded on the day before.
  EXPECT_EQ(utc_date({.volume = 1, .ts_close = 20'458 * day}), 20'457);
}

TEST(Vpin, FileBucketVolumeIsTotalOverDatesOverBucketsPerDay) {
  EXPECT_DOUBLE_EQ(*file_bucket_volume(1'000'000, 4, 50), 5000);
  EXPECT_FALSE(file_bucket_volume(0, 4, 50));
  EXPECT_FALSE(file_bucket_volume(100, 0, 50));
  EXPECT_FALSE(file_bucket_volume(100, 4, 0));
  std::vector<TimeBar> bars{bar(1, 1, 5, 1), bar(1, 1, 0, 2 + 1440), bar(1, 1, 5, 3 + 2880)};
  EXPECT_EQ(distinct_utc_dates(bars), 2u) << "the date with only a zero-volume bar is no date";
}

TEST(Vpin, BadOptionsAreRefusedWithAReason) {
  auto bad = [](VpinOptions o) {
    auto c = VpinCalculator::create(o);
    EXPECT_FALSE(c);
    return c ? std::string() : c.error().message;
  };
  EXPECT_NE(bad({.bucket_volume = 0}).find("bucket_volume"), std::string::npos);
  EXPECT_NE(bad({.bucket_volume = 1, .window = 0}).find("window"), std::string::npos);
  EXPECT_NE(bad({.bucket_volume = 1, .bvc = {.cdf = BarCdf::kStudentT, .df = 0}}).find("df"),
            std::string::npos);
  EXPECT_NE(bad({.bucket_volume = 1, .bvc = {.sigma = SigmaOptions::rolling(1)}}).find("window"),
            std::string::npos);
  EXPECT_NE(bad({.bucket_volume = 1, .bvc = {.sigma = SigmaOptions::fixed(-1)}}).find("sigma"),
            std::string::npos);
  EXPECT_NE(
      bad({.bucket_volume = 1, .toxicity = {.history = 10, .min_history = 20}}).find("min_history"),
      std::string::npos);
  EXPECT_NE(bad({.bucket_volume = 1, .toxicity = {.threshold = 1.5}}).find("threshold"),
            std::string::npos);
}

TEST(Vpin, RecentKeepsTheLastResultsOldestFirst) {
  auto c = make({.bucket_volume = 10, .window = 1, .result_history = 3});
  std::vector<BucketResult> out;
  for (int i = 0; i < 5; ++i) c.on_bar(bar(10, 10, 10, i), out);
  auto r = c.recent();
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].index, 2u);
  EXPECT_EQ(r[2].index, 4u);
  EXPECT_EQ(c.recent(1).at(0).index, 4u);
}

// ---- Against the reference ----

// Random walk over 16 sessions of 390 one-minute bars, with jumps, a flat run, zero-volume
// bars, gaps between bars, and a burst of one-sided buying. Volumes are whole shares, so the
// cumulative sums of both sides are exact and bucket boundaries cannot round differently.
std::vector<TimeBar> random_series(std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> step(0, 0.05);
  std::normal_distribution<double> gap(0, 0.01);
  std::uniform_int_distribution<int> shares(100, 5000);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<TimeBar> bars;
  double p = 100;
  for (int i = 0; i < 16 * 390; ++i) {
    const UnixNanos ts = kT0 + (i / 390) * kNanosPerDay + (i % 390 + 1) * kMinute;
    double open = p + (u(rng) < 0.2 ? gap(rng) : 0.0);
    double close = open + step(rng);
    double volume = shares(rng);
    if (i >= 1000 && i < 1150) open = close = p;  // a flat run: ΔP = 0
    if (i >= 2000 && i < 2060) {                  // one-sided buying
      close = open + 0.15;
      volume = 30'000;
    }
    if (u(rng) < 0.01) close += u(rng) < 0.5 ? -1.0 : 1.0;  // a jump
    if (i % 97 == 0) volume = 0;
    bars.push_back({.open = open, .close = close, .volume = volume, .ts_close = ts});
    if (volume > 0) p = close;
  }
  return bars;
}

struct Row {
  std::uint64_t index = 0;
  UnixNanos ts = 0;
  double buy = 0, sell = 0, vpin = 0, cdf = 0;
  bool alert = false;
};

std::string g17(double x) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", x);
  return buf;
}

bool reference_available() {
  return std::system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") == 0;
}

// Runs the reference on `bars` with `args`; its rows, or an empty vector and a failure.
std::vector<Row> run_reference(const std::vector<TimeBar>& bars, const std::string& args) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() /
                       ("vpin_ref_" + std::to_string(::getpid()) + "_" + std::to_string(rand()));
  fs::create_directories(dir);
  {
    std::ofstream f(dir / "bars.csv");
    f << "open,close,volume,ts_close\n";
    for (const auto& b : bars) {
      f << g17(b.open) << ',' << g17(b.close) << ',' << g17(b.volume) << ',' << b.ts_close << '\n';
    }
  }
  const std::string cmd =
      "/usr/bin/python3 " NAUTILUS_SOURCE_DIR "/tests/reference/vpin_reference.py " +
      (dir / "bars.csv").string() + " " + (dir / "out.csv").string() + " " + args;
  std::vector<Row> rows;
  if (std::system(cmd.c_str()) != 0) {
    ADD_FAILURE() << "the reference failed: " << cmd;
    return rows;
  }
  std::ifstream in(dir / "out.csv");
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::stringstream ss(line);
    std::string f[7];
    for (auto& s : f) std::getline(ss, s, ',');
    rows.push_back({.index = std::stoull(f[0]),
                    .ts = std::stoll(f[1]),
                    .buy = std::strtod(f[2].c_str(), nullptr),
                    .sell = std::strtod(f[3].c_str(), nullptr),
                    .vpin = std::strtod(f[4].c_str(), nullptr),
                    .cdf = std::strtod(f[5].c_str(), nullptr),
                    .alert = f[6] == "1"});
  }
  fs::remove_all(dir);
  return rows;
}

// |a − b| <= rel · max(|b|, floor); NaN only matches NaN.
bool near(double a, double b, double rel, double floor = 1e-300) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  return std::abs(a - b) <= rel * std::max(std::abs(b), floor);
}

void compare_with_reference(const std::vector<TimeBar>& bars, const VpinOptions& o,
                            const std::string& args) {
  auto c = make(o);
  auto got = feed(c, bars);
  auto want = run_reference(bars, "--bucket-volume " + g17(o.bucket_volume) + " --window " +
                                      std::to_string(o.window) + " " + args);
  ASSERT_EQ(got.size(), want.size());
  ASSERT_GT(got.size(), 300u);
  std::size_t with_cdf = 0, alerts = 0, tied = 0;
  std::vector<double> history;  // the finite VPIN values so far
  for (std::size_t i = 0; i < got.size(); ++i) {
    const auto& g = got[i];
    const auto& w = want[i];
    SCOPED_TRACE("bucket " + std::to_string(i));
    ASSERT_EQ(g.index, w.index);
    ASSERT_EQ(g.ts, w.ts);
    // Volumes relative to the bucket (a one-sided bucket's small side is near 0).
    ASSERT_TRUE(near(g.buy, w.buy, 1e-9, o.bucket_volume)) << g.buy << " vs " << w.buy;
    ASSERT_TRUE(near(g.sell, w.sell, 1e-9, o.bucket_volume)) << g.sell << " vs " << w.sell;
    ASSERT_TRUE(near(g.vpin, w.vpin, 1e-9)) << g.vpin << " vs " << w.vpin;
    if (!std::isnan(g.vpin)) history.push_back(g.vpin);
    if (!near(g.cdf, w.cdf, 1e-9, 1.0)) {
      // The empirical CDF counts values <= the current one, so a value within rounding of it
      // (the VPIN of a run of one-sided buckets barely moves) may count on one side and not on
      // the other. Allowed only for as many values as lie within 1e-9 of it.
      ASSERT_EQ(o.toxicity.kind, VpinCdfKind::kEmpirical) << g.cdf << " vs " << w.cdf;
      const std::size_t h = o.toxicity.history;
      const std::size_t from = h == 0 || history.size() <= h ? 0 : history.size() - h;
      std::size_t ties = 0;
      for (std::size_t k = from; k + 1 < history.size(); ++k) {
        ties += near(history[k], g.vpin, 1e-9);
      }
      const double diff = std::abs(g.cdf - w.cdf) * static_cast<double>(history.size() - from);
      ASSERT_LE(diff, static_cast<double>(ties) + 1e-6) << g.cdf << " vs " << w.cdf;
      ++tied;
      continue;  // the alert follows the CDF
    }
    ASSERT_EQ(g.alert, w.alert);
    with_cdf += !std::isnan(g.cdf);
    alerts += g.alert;
  }
  EXPECT_GT(with_cdf, 100u);
  // Inside the burst whole windows of identical buckets give VPINs equal but for rounding.
  EXPECT_LE(tied, with_cdf / 10) << "CDFs that differ by near-ties only";
  EXPECT_GE(alerts, 1u) << "the burst should raise an alert";
}

TEST(VpinReference, SampleSigmaNormalCloseToCloseMatchesEveryBucket) {
  ASSERT_TRUE(reference_available()) << "/usr/bin/python3 needs numpy: scripts/install-deps.sh";
  compare_with_reference(
      random_series(1),
      {.bucket_volume = 20'000, .window = 50, .toxicity = {.history = 200, .min_history = 50}},
      "--dp close --sigma sample --cdf normal --vpin-cdf empirical "
      "--cdf-history 200 --min-history 50 --threshold 0.9");
}

TEST(VpinReference, ThePapersFileModeWholeSampleSigmaAndAdvBucketMatchesEveryBucket) {
  ASSERT_TRUE(reference_available()) << "/usr/bin/python3 needs numpy: scripts/install-deps.sh";
  const auto bars = random_series(2);
  double total = 0;
  for (const auto& b : bars) total += b.volume;
  const double v = *file_bucket_volume(total, distinct_utc_dates(bars), 50);
  EXPECT_EQ(distinct_utc_dates(bars), 16u);
  compare_with_reference(
      bars,
      {.bucket_volume = v,
       .window = 50,
       .bvc = {.dp = PriceChange::kWithin,
               .sigma = SigmaOptions::fixed(whole_sample_sigma(bars, PriceChange::kWithin))},
       .toxicity = {.history = 0, .min_history = 20}},
      "--dp within --sigma file --cdf normal --vpin-cdf empirical --cdf-history 0 "
      "--min-history 20 --threshold 0.9");
}

TEST(VpinReference, RollingSigmaStudentTLognormalCdfMatchesEveryBucket) {
  ASSERT_TRUE(reference_available()) << "/usr/bin/python3 needs numpy: scripts/install-deps.sh";
  compare_with_reference(random_series(3),
                         {.bucket_volume = 15'000,
                          .window = 30,
                          .bvc = {.dp = PriceChange::kClose,
                                  .sigma = SigmaOptions::rolling(300),
                                  .cdf = BarCdf::kStudentT,
                                  .df = 0.25},
                          .toxicity = {.kind = VpinCdfKind::kLognormal,
                                       .history = 300,
                                       .min_history = 30,
                                       .threshold = 0.95}},
                         "--dp close --sigma rolling:300 --cdf t:0.25 --vpin-cdf lognormal "
                         "--cdf-history 300 --min-history 30 --threshold 0.95");
}

TEST(VpinReference, SampleSigmaStudentTWithinBarMatchesEveryBucket) {
  ASSERT_TRUE(reference_available()) << "/usr/bin/python3 needs numpy: scripts/install-deps.sh";
  compare_with_reference(random_series(4),
                         {.bucket_volume = 25'000,
                          .window = 50,
                          .bvc = {.dp = PriceChange::kWithin, .cdf = BarCdf::kStudentT, .df = 3},
                          .toxicity = {.history = 500, .min_history = 100, .threshold = 0.8}},
                         "--dp within --sigma sample --cdf t:3 --vpin-cdf empirical "
                         "--cdf-history 500 --min-history 100 --threshold 0.8");
}

}  // namespace
}  // namespace nautilus::vpin
