// The streaming indicators against TA-Lib itself: TA-Lib 0.4's C source (from npm's talib
// 2.0.5, compiled by cmake/TaLib.cmake) runs its batch functions over the same series in the
// test, and every value from TA-Lib's lookback on must agree to 1e-9 relative; before it, the
// streaming value must be NaN (no value rather than a wrong one).
#include <gtest/gtest.h>
#include <ta_libc.h>

#include <cmath>
#include <string>
#include <vector>

#include "nautilus/engines/features/feature_set.hpp"
#include "series.hpp"

namespace nautilus::features {
namespace {

using testing::make_series;
using testing::Series;

struct TaOutput {
  int begin = 0;
  std::vector<double> values;  // values[i] belongs to bar begin + i
};

// Compares a streamed column with TA-Lib's output: NaN before TA-Lib's first value, within
// 1e-9 relative (plus 1e-12 absolute, for values at zero) from there on.
void expect_matches(const std::vector<double>& streamed, const TaOutput& ta, int lookback,
                    const std::string& what) {
  ASSERT_EQ(ta.begin, lookback) << what << ": TA-Lib's first output is its lookback";
  ASSERT_EQ(ta.values.size() + ta.begin, streamed.size()) << what;
  std::size_t exact = 0;
  for (std::size_t i = 0; i < streamed.size(); ++i) {
    if (static_cast<int>(i) < ta.begin) {
      ASSERT_TRUE(std::isnan(streamed[i])) << what << " bar " << i << " is still warming up";
      continue;
    }
    const double want = ta.values[i - ta.begin];
    const double got = streamed[i];
    ASSERT_NEAR(got, want, 1e-9 * std::fabs(want) + 1e-12) << what << " bar " << i;
    exact += got == want ? 1 : 0;
  }
  // The same operations in the same order give the same bits; report how often.
  ::testing::Test::RecordProperty(what + "_bitwise_equal",
                                  std::to_string(exact) + "/" + std::to_string(ta.values.size()));
}

// Streams the series through a FeatureSet and returns each feature's column.
std::vector<std::vector<double>> stream(const Series& s, const FeaturePeriods& p) {
  FeatureSet set(p);
  std::vector<std::vector<double>> cols(kFeatureCount);
  for (std::size_t i = 0; i < s.size(); ++i) {
    set.update(s.bar(i));
    const auto v = set.values();
    for (std::size_t f = 0; f < kFeatureCount; ++f) cols[f].push_back(v[f]);
  }
  return cols;
}

const std::vector<double>& col(const std::vector<std::vector<double>>& cols, Feature f) {
  return cols[static_cast<std::size_t>(f)];
}

class TaLibReference : public ::testing::TestWithParam<std::uint64_t> {
 protected:
  static void SetUpTestSuite() { ASSERT_EQ(TA_Initialize(), TA_SUCCESS); }
  const int n_ = 5000;
  const Series s_ = make_series(static_cast<std::size_t>(n_), GetParam());
  const int end_ = n_ - 1;

  TaOutput one(TA_RetCode (*fn)(int, int, const double*, int, int*, int*, double*), int period) {
    TaOutput out;
    out.values.resize(static_cast<std::size_t>(n_));
    int count = 0;
    EXPECT_EQ(fn(0, end_, s_.close.data(), period, &out.begin, &count, out.values.data()),
              TA_SUCCESS);
    out.values.resize(static_cast<std::size_t>(count));
    return out;
  }
};

TEST_P(TaLibReference, SmaEmaAndRsiMatchTaLibFromItsLookbackOn) {
  for (const int period : {2, 14, 20, 50}) {
    FeaturePeriods p;
    p.sma = p.ema = p.rsi = period;
    const auto cols = stream(s_, p);
    const auto tag = std::to_string(period);
    expect_matches(col(cols, Feature::kSma), one(TA_SMA, period), TA_SMA_Lookback(period),
                   "sma" + tag);
    expect_matches(col(cols, Feature::kEma), one(TA_EMA, period), TA_EMA_Lookback(period),
                   "ema" + tag);
    expect_matches(col(cols, Feature::kRsi), one(TA_RSI, period), TA_RSI_Lookback(period),
                   "rsi" + tag);
  }
}

TEST_P(TaLibReference, MacdSignalAndHistogramMatchTaLibsSeeding) {
  struct P {
    int fast, slow, signal;
  };
  for (const P m : {P{12, 26, 9}, P{5, 35, 5}, P{3, 10, 16}, P{26, 12, 9}}) {
    FeaturePeriods p;
    p.macd_fast = m.fast;
    p.macd_slow = m.slow;
    p.macd_signal = m.signal;
    const auto cols = stream(s_, p);
    TaOutput macd, signal, hist;
    for (auto* o : {&macd, &signal, &hist}) o->values.resize(static_cast<std::size_t>(n_));
    int count = 0;
    ASSERT_EQ(TA_MACD(0, end_, s_.close.data(), m.fast, m.slow, m.signal, &macd.begin, &count,
                      macd.values.data(), signal.values.data(), hist.values.data()),
              TA_SUCCESS);
    for (auto* o : {&macd, &signal, &hist}) o->values.resize(static_cast<std::size_t>(count));
    signal.begin = hist.begin = macd.begin;
    const int lookback = TA_MACD_Lookback(m.fast, m.slow, m.signal);
    const auto tag =
        std::to_string(m.fast) + "_" + std::to_string(m.slow) + "_" + std::to_string(m.signal);
    expect_matches(col(cols, Feature::kMacd), macd, lookback, "macd" + tag);
    expect_matches(col(cols, Feature::kMacdSignal), signal, lookback, "macd_signal" + tag);
    expect_matches(col(cols, Feature::kMacdHist), hist, lookback, "macd_hist" + tag);
  }
}

TEST_P(TaLibReference, BollingerBandsMatchTaLibWithPopulationSigma) {
  for (const double k : {2.0, 1.5}) {
    FeaturePeriods p;
    p.bb_k = k;
    const auto cols = stream(s_, p);
    TaOutput up, mid, dn;
    for (auto* o : {&up, &mid, &dn}) o->values.resize(static_cast<std::size_t>(n_));
    int count = 0;
    ASSERT_EQ(TA_BBANDS(0, end_, s_.close.data(), p.bb, k, k, TA_MAType_SMA, &up.begin, &count,
                        up.values.data(), mid.values.data(), dn.values.data()),
              TA_SUCCESS);
    for (auto* o : {&up, &mid, &dn}) o->values.resize(static_cast<std::size_t>(count));
    mid.begin = dn.begin = up.begin;
    const int lookback = TA_BBANDS_Lookback(p.bb, k, k, TA_MAType_SMA);
    expect_matches(col(cols, Feature::kBbMid), mid, lookback, "bb_mid");
    expect_matches(col(cols, Feature::kBbUp), up, lookback, "bb_up");
    expect_matches(col(cols, Feature::kBbDn), dn, lookback, "bb_dn");
  }
}

TEST_P(TaLibReference, AtrAndObvMatchTaLib) {
  for (const int period : {1, 14, 30}) {
    FeaturePeriods p;
    p.atr = period;
    const auto cols = stream(s_, p);
    TaOutput atr;
    atr.values.resize(static_cast<std::size_t>(n_));
    int count = 0;
    ASSERT_EQ(TA_ATR(0, end_, s_.high.data(), s_.low.data(), s_.close.data(), period, &atr.begin,
                     &count, atr.values.data()),
              TA_SUCCESS);
    atr.values.resize(static_cast<std::size_t>(count));
    expect_matches(col(cols, Feature::kAtr), atr, TA_ATR_Lookback(period),
                   "atr" + std::to_string(period));
  }
  const auto cols = stream(s_, FeaturePeriods{});
  TaOutput obv;
  obv.values.resize(static_cast<std::size_t>(n_));
  int count = 0;
  ASSERT_EQ(
      TA_OBV(0, end_, s_.close.data(), s_.volume.data(), &obv.begin, &count, obv.values.data()),
      TA_SUCCESS);
  obv.values.resize(static_cast<std::size_t>(count));
  expect_matches(col(cols, Feature::kObv), obv, TA_OBV_Lookback(), "obv");
}

INSTANTIATE_TEST_SUITE_P(RandomWalksWithJumpsFlatRunsAndZeroVolume, TaLibReference,
                         ::testing::Values(1, 7, 2026));

// Hand-worked cases, independent of TA-Lib.

TEST(Indicators, AnEmaIsSeededWithTheMeanOfItsFirstNInputs) {
  Ema ema(3);  // k = 0.5
  ema.update(1);
  ema.update(2);
  EXPECT_TRUE(std::isnan(ema.value()));
  ema.update(6);
  EXPECT_DOUBLE_EQ(ema.value(), 3.0);  // (1 + 2 + 6) / 3
  ema.update(5);
  EXPECT_DOUBLE_EQ(ema.value(), 4.0);  // (5 − 3)·0.5 + 3
}

TEST(Indicators, RsiOfAFlatRunIsZeroAsInTaLibAndOfOnlyGainsIsHundred) {
  Rsi flat(3);
  for (int i = 0; i < 4; ++i) flat.update(10);
  EXPECT_EQ(flat.value(), 0.0);
  Rsi up(3);
  for (int i = 0; i < 4; ++i) up.update(10 + i);
  EXPECT_EQ(up.value(), 100.0);
  // Changes +1, −1, +2: gains 3/3 = 1, losses 1/3; RSI = 100·1/(1 + 1/3) = 75.
  Rsi mixed(3);
  for (const double x : {10.0, 11.0, 10.0, 12.0}) mixed.update(x);
  EXPECT_DOUBLE_EQ(mixed.value(), 75.0);
}

TEST(Indicators, BollingerBandsCollapseOntoAConstantPrice) {
  Bollinger bb(4, 2.0);
  for (int i = 0; i < 6; ++i) bb.update(101.25);
  EXPECT_EQ(bb.middle(), 101.25);
  EXPECT_EQ(bb.upper(), 101.25);
  EXPECT_EQ(bb.lower(), 101.25);
}

TEST(Indicators, AtrStartsFromTheSecondBarsTrueRange) {
  Atr atr(2);
  atr.update(11, 9, 10);   // no previous close: no true range
  atr.update(12, 10, 11);  // TR = max(2, |10−12|, |10−10|) = 2
  EXPECT_TRUE(std::isnan(atr.value()));
  atr.update(15, 11, 14);  // TR = max(4, 4, 0) = 4; ATR = (2 + 4)/2
  EXPECT_DOUBLE_EQ(atr.value(), 3.0);
  atr.update(14, 14, 14);  // TR = max(0, 0, 0) = 0; ATR = (3·1 + 0)/2
  EXPECT_DOUBLE_EQ(atr.value(), 1.5);
}

TEST(Indicators, SessionVwapRestartsEachSessionAndHasNoValueBeforeAnyVolume) {
  Vwap vwap;
  vwap.update(12, 9, 9, 0, 1);  // no volume yet
  EXPECT_TRUE(std::isnan(vwap.value()));
  vwap.update(12, 9, 9, 100, 1);    // typical 10
  vwap.update(22, 19, 19, 300, 1);  // typical 20
  EXPECT_DOUBLE_EQ(vwap.value(), (10.0 * 100 + 20.0 * 300) / 400);
  vwap.update(31, 29, 30, 50, 2);  // a new session
  EXPECT_DOUBLE_EQ(vwap.value(), 30.0);
}

TEST(Indicators, RealizedVolatilityIsTheSampleDeviationOfTheWindowsLogReturns) {
  RealizedVol rv(3, 4.0);  // sqrt(4) = 2
  for (const double r : {0.01, -0.01, 0.03}) rv.update(r);
  // mean 0.01; deviations 0, −0.02, 0.02; variance 0.0008/2 = 0.0004; sd 0.02; ×2
  EXPECT_NEAR(rv.value(), 0.04, 1e-15);
  rv.update(NAN);  // a non-positive price upstream: no value while it is in the window
  EXPECT_TRUE(std::isnan(rv.value()));
  for (const double r : {0.0, 0.0, 0.0}) rv.update(r);
  EXPECT_EQ(rv.value(), 0.0);
}

TEST(Indicators, LogReturnsHaveNoValueForNonPositivePrices) {
  LogReturn r;
  r.update(100);
  EXPECT_TRUE(std::isnan(r.value()));
  r.update(110);
  EXPECT_DOUBLE_EQ(r.value(), std::log(1.1));
  r.update(0);
  EXPECT_TRUE(std::isnan(r.value()));
  r.update(5);
  EXPECT_TRUE(std::isnan(r.value()));
}

TEST(Indicators, EveryFeatureIsNaNUntilItsLookbackAndFiniteAfter) {
  const auto s = make_series(200, 3);
  const FeaturePeriods p;
  const auto cols = stream(s, p);
  const int lookbacks[kFeatureCount] = {19, 19, 14, 33, 33, 33, 19, 19, 19, 14, 0, 0, 1, 20};
  for (std::size_t f = 0; f < kFeatureCount; ++f) {
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (f == static_cast<std::size_t>(Feature::kVwap)) continue;  // depends on volume
      EXPECT_EQ(std::isnan(cols[f][i]), static_cast<int>(i) < lookbacks[f])
          << feature_names(p)[f] << " bar " << i;
      EXPECT_FALSE(std::isinf(cols[f][i])) << feature_names(p)[f] << " bar " << i;
    }
  }
}

TEST(Indicators, PeriodsOutsideTaLibsRangesAreRefusedByName) {
  FeaturePeriods p;
  p.rsi = 1;
  const auto r = p.validate();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("rsi"), std::string::npos);
  EXPECT_TRUE(FeaturePeriods{}.validate());
}

TEST(Indicators, FeatureNamesCarryTheConfiguredPeriods) {
  FeaturePeriods p;
  EXPECT_EQ(feature_names(p)[0], "sma20");
  p.rsi = 9;
  EXPECT_EQ(feature_names(p)[2], "rsi9");
}

}  // namespace
}  // namespace nautilus::features
