// The factor engine's styles (styles.hpp, panel.hpp) on cases worked by hand. The numpy
// reference (tests/reference/factor_check.py) recomputes every value over the research universe
// in factor_engine_test.cpp.
#include "nautilus/engines/factor/styles.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "nautilus/engines/factor/panel.hpp"

namespace nautilus::factor {
namespace {

constexpr core::UnixNanos kDay = 86'400'000'000'000;

double sd(const std::vector<double>& v) {
  const double m = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
  double ss = 0;
  for (const double x : v) ss += (x - m) * (x - m);
  return std::sqrt(ss / static_cast<double>(v.size() - 1));
}

TEST(FactorStyles, EachRawStyleWorkedByHand) {
  // 300 bars: the close doubles over bars 48..278 (the momentum window of the last bar) through
  // one jump, and is flat elsewhere; volume 1000 a day on 1e6 shares.
  const StyleConfig c;
  std::vector<double> close(300, 10.0);
  for (std::size_t k = 100; k < 300; ++k) close[k] = 20.0;
  std::vector<double> volume(300, 1000.0);
  std::vector<double> shares(300, 1e6);
  const auto s = raw_styles(close, volume, shares, 5e6, c);
  // Momentum of bar 299: returns 48..278; the jump (bar 100) is inside: 20 / 10 - 1.
  EXPECT_NEAR(s[0], 1.0, 1e-15);
  EXPECT_NEAR(s[1], 5e6 / (1e6 * 20.0), 1e-15);           // book / cap
  EXPECT_NEAR(s[2], std::log(2e7), 1e-15);                // log cap
  EXPECT_EQ(s[3], 0.0);                                   // no move in the last 63 returns
  EXPECT_NEAR(s[4], std::log(21 * 1000.0 / 1e6), 1e-15);  // monthly turnover
  // A jump inside the last month is not momentum's, but is volatility's.
  close[290] = 30.0;
  for (std::size_t k = 291; k < 300; ++k) close[k] = 30.0;
  const auto t = raw_styles(close, volume, shares, 5e6, c);
  EXPECT_NEAR(t[0], 1.0, 1e-15);
  std::vector<double> r;
  for (std::size_t k = 237; k < 300; ++k) r.push_back(close[k] / close[k - 1] - 1);
  EXPECT_NEAR(t[3], sd(r) * std::sqrt(252.0), 1e-15);
}

TEST(FactorStyles, AStyleIsUndefinedUntilItsWindowIsFullOrAFilingIsKnown) {
  const StyleConfig c;
  std::vector<double> close(30, 10.0);
  std::vector<double> volume(30, 1000.0);
  std::vector<double> shares(30, std::nan(""));
  const auto s = raw_styles(close, volume, shares, std::nan(""), c);
  for (const double v : s) EXPECT_TRUE(std::isnan(v));  // no filing; 30 bars < 64 and 253
  shares.assign(30, 1e6);
  const auto t = raw_styles(close, volume, shares, 1e6, c);
  EXPECT_TRUE(std::isnan(t[0]));
  EXPECT_FALSE(std::isnan(t[1]));
  EXPECT_FALSE(std::isnan(t[2]));
  EXPECT_TRUE(std::isnan(t[3]));
  EXPECT_FALSE(std::isnan(t[4]));  // 21 bars are enough
  shares[15] = std::nan("");       // a bar in the liquidity window without shares known
  EXPECT_TRUE(std::isnan(raw_styles(close, volume, shares, 1e6, c)[4]));
}

TEST(FactorStyles, StandardizingClipsAtNumpysPercentilesPerStyle) {
  // Style 0: 0, 1, ..., 99 and an outlier of 1000: clipped at numpy.percentile(.., 1) = 1 and
  // (.., 99) = 99, then mean 0 and sd 1 over the 101 values. Style 1: two defined values.
  std::vector<Styles> raw(101);
  for (std::size_t i = 0; i < 101; ++i) {
    raw[i].fill(std::nan(""));
    raw[i][0] = i < 100 ? static_cast<double>(i) : 1000.0;
  }
  raw[3][1] = 2.0;
  raw[7][1] = 4.0;
  const auto x = standardize(raw, 0.01);
  EXPECT_EQ(x.summary[0].count, 101U);
  EXPECT_NEAR(x.summary[0].clip_low, 1.0, 1e-12);
  EXPECT_NEAR(x.summary[0].clip_high, 99.0, 1e-12);
  std::vector<double> z;
  for (const auto& e : x.exposures) z.push_back(e[0]);
  EXPECT_NEAR(std::accumulate(z.begin(), z.end(), 0.0), 0.0, 1e-12);
  EXPECT_NEAR(sd(z), 1.0, 1e-12);
  EXPECT_EQ(z[0], z[1]);     // 0 was clipped to 1
  EXPECT_EQ(z[99], z[100]);  // 1000 was clipped to 99
  EXPECT_NEAR(x.exposures[3][1], -std::sqrt(0.5), 1e-15);
  EXPECT_NEAR(x.exposures[7][1], std::sqrt(0.5), 1e-15);
  EXPECT_TRUE(std::isnan(x.exposures[0][1]));
  EXPECT_EQ(x.summary[2].count, 0U);
}

TEST(FactorStyles, ThePanelGroupsNewBarsByDateAndUsesEachOnce) {
  std::deque<universe_feed::SymbolHistory> h(2);
  h[0].symbol = "BBB";
  h[1].symbol = "AAA";
  for (int k = 0; k < 3; ++k) {
    for (auto& s : h) {
      s.ts.push_back(1'700'000'000'000'000'000 + k * kDay);
      s.close.push_back(10 + k);
      s.volume.push_back(100);
    }
  }
  for (auto& s : h) {
    s.as_of = {0};
    s.shares = {1e6};
    s.book = {1e6};
    s.sales = {1e6};
    s.cash_flow = {1e5};
  }
  auto dates = exposures_by_date(h, {});
  ASSERT_EQ(dates.size(), 3U);
  EXPECT_EQ(dates[0].symbols, (std::vector<std::string_view>{"AAA", "BBB"}));  // name order
  EXPECT_TRUE(exposures_by_date(h, {}).empty());                               // nothing new
  for (auto& s : h) {
    s.ts.push_back(s.ts.back() + kDay);
    s.close.push_back(14);
    s.volume.push_back(100);
  }
  dates = exposures_by_date(h, {});
  ASSERT_EQ(dates.size(), 1U);
  EXPECT_NEAR(dates[0].raw[0][2], std::log(1.4e7), 1e-12);
}

}  // namespace
}  // namespace nautilus::factor
