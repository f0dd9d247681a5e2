// toraniko's style scores (styles.hpp) on cases worked by hand. The numpy reference
// (tests/reference/universe_check.py, run by the marketdata tests) recomputes them over the whole
// research universe, and tests/reference/toraniko_check.py over `nautilus compute toraniko`.
#include "nautilus/factor_core/styles.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

namespace nautilus::factor_core {
namespace {

double stdev(const std::vector<double>& v) {
  const double m = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
  double ss = 0;
  for (const double x : v) ss += (x - m) * (x - m);
  return std::sqrt(ss / static_cast<double>(v.size() - 1));
}

TEST(ToranikoStyles, PercentilesInterpolateLikeNumpysLinearMethod) {
  // numpy.percentile([1, 2, 3, 4], 10) = 1.3: virtual index 3 x 0.1 = 0.3.
  std::vector<double> v = {4, 1, 3, 2};
  EXPECT_NEAR(percentile_linear(v, 0.10), 1.3, 1e-15);
  EXPECT_NEAR(percentile_linear(v, 0.90), 3.7, 1e-15);
  EXPECT_EQ(percentile_linear(v, 0.0), 1.0);
  EXPECT_EQ(percentile_linear(v, 1.0), 4.0);
  std::vector<double> one = {5};
  EXPECT_EQ(percentile_linear(one, 0.3), 5.0);
  std::vector<double> w = {10, -3, 0, 7, 2};
  winsorize(w, 0.25);  // 25 %: index 1 (0); 75 %: index 3 (7)
  EXPECT_EQ(w, (std::vector<double>{7, 0, 0, 7, 2}));
}

TEST(ToranikoStyles, AConstantCrossSectionStandardizesToZeros) {
  const std::vector<double> same(10, 3.0);
  EXPECT_EQ(standardize(same), std::vector<double>(10, 0.0));
  EXPECT_EQ(standardize(std::vector<double>{1.0}), std::vector<double>{0.0});
}

TEST(ToranikoStyles, SizeKeepsTheTailsOfStandardizedMinusLogCap) {
  std::vector<double> caps;
  for (int i = 0; i < 500; ++i) caps.push_back(1e9 * std::exp(0.01 * ((i * 7919) % 500)));
  const auto s = size_scores(caps);
  // Ranks 101..398 of 500 (between the sorted values at round(499 * 0.2) and round(499 * 0.8))
  // are set to 0.
  EXPECT_EQ(std::count(s.begin(), s.end(), 0.0), 298);
  std::vector<double> z(caps.size());
  for (std::size_t i = 0; i < caps.size(); ++i) z[i] = -std::log(caps[i]);
  const double m = std::accumulate(z.begin(), z.end(), 0.0) / 500;
  const double sd = stdev(z);
  for (std::size_t i = 0; i < caps.size(); ++i) {
    if (s[i] != 0) {
      EXPECT_NEAR(s[i], (z[i] - m) / sd, 1e-12);
      EXPECT_GT(std::abs(s[i]), 0.5);  // only tails survive
    }
  }
}

TEST(ToranikoStyles, ValueAndMomentumAreStandardized) {
  std::vector<double> bp;
  std::vector<double> sp;
  std::vector<double> cf;
  std::vector<double> raw;
  for (int i = 0; i < 200; ++i) {
    bp.push_back(0.1 + 0.01 * ((i * 37) % 200));
    sp.push_back(0.2 + 0.005 * ((i * 53) % 200));
    cf.push_back(-0.05 + 0.001 * ((i * 71) % 200));
    raw.push_back(0.001 * ((i * 97) % 200) - 0.1);
  }
  raw[17] = 50;  // an outlier is clipped to the 99th percentile
  for (const auto& v : {value_scores(bp, sp, cf), momentum_scores(raw)}) {
    EXPECT_NEAR(std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size()), 0, 1e-12);
    EXPECT_NEAR(stdev(v), 1, 1e-12);
  }
  const auto mom = momentum_scores(raw);
  EXPECT_LT(mom[17], 3);  // unclipped, 50 would stand about 14 sd out
  EXPECT_EQ(mom[17], *std::max_element(mom.begin(), mom.end()));
}

TEST(ToranikoStyles, MomentumWeighsAReturnByItsAgeWithAHalfLifeOf126Days) {
  std::vector<double> r(kMomentumWindow, 0.0);
  EXPECT_EQ(momentum_raw(r), 0.0);
  r.back() = 0.1;  // the newest weighs 1
  EXPECT_NEAR(momentum_raw(r), 0.1, 1e-15);
  r.back() = 0;
  r[kMomentumWindow - 1 - kMomentumHalfLife] = 0.1;  // 126 days older: half
  EXPECT_NEAR(momentum_raw(r), 0.05, 1e-15);
  r[kMomentumWindow - 1] = 0.2;  // compounded
  EXPECT_NEAR(momentum_raw(r), 1.05 * 1.2 - 1, 1e-15);
}

}  // namespace
}  // namespace nautilus::factor_core
