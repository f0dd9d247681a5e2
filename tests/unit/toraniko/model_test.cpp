// One date of the toraniko model (model.hpp) against a dense KKT solve of the constrained
// problem (kkt.hpp: the independent reference, written from the problem's statement), and
// against cases worked by hand.
#include "nautilus/engines/toraniko/model.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <random>

#include "kkt.hpp"

namespace nautilus::toraniko {
namespace {

struct Case {
  std::vector<double> r;
  std::vector<double> caps;
  std::vector<std::uint16_t> sectors;
  std::size_t m = 0;
  std::vector<double> styles;
  std::size_t k = 0;
  [[nodiscard]] CrossSection view() const {
    return {.returns = r,
            .market_caps = caps,
            .sectors = sectors,
            .sector_count = m,
            .styles = styles,
            .style_count = k};
  }
};

Case random_case(std::mt19937_64& rng, std::size_t n, std::size_t m, std::size_t k,
                 std::size_t empty_sector = SIZE_MAX) {
  std::normal_distribution<double> z;
  std::lognormal_distribution<double> cap(22, 1.5);
  Case c;
  c.m = m;
  c.k = k;
  for (std::size_t i = 0; i < n; ++i) {
    auto s = static_cast<std::uint16_t>(i % m);
    if (s == empty_sector) s = static_cast<std::uint16_t>((s + 1) % m);
    c.sectors.push_back(s);
    c.caps.push_back(cap(rng));
    c.r.push_back(0.02 * z(rng) + (i % 37 == 0 ? 0.3 : 0.0));  // a few outliers to clip
    for (std::size_t j = 0; j < k; ++j) c.styles.push_back(z(rng));
  }
  return c;
}

void expect_agrees_with_kkt(const Case& c, const ModelOptions& o, double tol) {
  Estimator est;
  DateFit fit;
  ASSERT_TRUE(est.fit(c.view(), o, fit));
  const auto ref =
      testing::kkt_fit(c.r, c.caps, c.sectors, c.m, c.styles, c.k, o.winsor, o.residualize_styles);
  ASSERT_EQ(fit.factor_returns.size(), ref.factor_returns.size());
  for (std::size_t j = 0; j < ref.factor_returns.size(); ++j) {
    EXPECT_NEAR(fit.factor_returns[j], ref.factor_returns[j], tol) << "factor " << j;
  }
  ASSERT_EQ(fit.residuals.size(), ref.residuals.size());
  for (std::size_t i = 0; i < ref.residuals.size(); ++i) {
    EXPECT_NEAR(fit.residuals[i], ref.residuals[i], tol) << "asset " << i;
  }
  double sum = 0;
  for (std::size_t j = 0; j < c.m; ++j) sum += fit.factor_returns[1 + j];
  EXPECT_NEAR(sum, 0, 1e-15);
}

TEST(ToranikoModel, EveryDateAgreesWithADenseKktSolveOfTheConstrainedProblem) {
  std::mt19937_64 rng(7);
  for (int trial = 0; trial < 40; ++trial) {
    const std::size_t n = 40 + static_cast<std::size_t>(trial) * 37;
    const std::size_t m = 2 + static_cast<std::size_t>(trial) % 11;
    const std::size_t k = static_cast<std::size_t>(trial) % 4;
    const Case c = random_case(rng, n, m, k);
    ModelOptions o;
    o.residualize_styles = trial % 3 != 0;
    if (trial % 4 == 1) o.winsor.reset();
    SCOPED_TRACE(::testing::Message()
                 << "trial " << trial << ": n " << n << ", m " << m << ", k " << k);
    expect_agrees_with_kkt(c, o, 1e-10);
  }
}

TEST(ToranikoModel, ASectorWithNoAssetsIsLeftOutAndTheOthersStillSumToZero) {
  std::mt19937_64 rng(11);
  for (const std::size_t empty : {0UL, 4UL, 10UL}) {  // first, middle, last (the constrained one)
    const Case c = random_case(rng, 300, 11, 3, empty);
    SCOPED_TRACE(::testing::Message() << "empty sector " << empty);
    expect_agrees_with_kkt(c, {}, 1e-10);
    Estimator est;
    DateFit fit;
    ASSERT_TRUE(est.fit(c.view(), {}, fit));
    EXPECT_EQ(fit.factor_returns[1 + empty], 0.0);
  }
}

TEST(ToranikoModel, TwoSectorsOfEqualCapsWorkedByHand) {
  // Sector 0: 1 %, 3 %; sector 1: -1 %, 1 %; equal caps, no winsorizing, no styles. The sector
  // means are 2 % and 0 %, so market 1 %, sectors +1 % and -1 % (summing to zero), and each
  // asset's residual is its distance from its sector's mean.
  const Case c{.r = {0.01, 0.03, -0.01, 0.01},
               .caps = {4e9, 4e9, 4e9, 4e9},
               .sectors = {0, 0, 1, 1},
               .m = 2};
  Estimator est;
  DateFit fit;
  ASSERT_TRUE(est.fit(c.view(), {.winsor = std::nullopt}, fit));
  ASSERT_EQ(fit.factor_returns.size(), 3U);
  EXPECT_NEAR(fit.factor_returns[0], 0.01, 1e-16);
  EXPECT_NEAR(fit.factor_returns[1], 0.01, 1e-16);
  EXPECT_NEAR(fit.factor_returns[2], -0.01, 1e-16);
  const std::vector<double> want = {-0.01, 0.01, -0.01, 0.01};
  for (std::size_t i = 0; i < 4; ++i) EXPECT_NEAR(fit.residuals[i], want[i], 1e-16);
  // R² = 1 - sum e² / sum (r - mean)² = 1 - 4e-4 / 8e-4 (the mean is 1 %).
  EXPECT_NEAR(fit.r_squared, 0.5, 1e-12);
}

TEST(ToranikoModel, WinsorizesTheReturnsAtNumpysLinearPercentiles) {
  // 21 returns 0, 1, ..., 19 % and an outlier of 100 %: numpy.percentile at 5 % is the value at
  // virtual index 20 x 0.05 = 1 (1 %), at 95 % index 19 (19 %). One sector of equal caps: the
  // market return is the mean of the clipped returns.
  Case c{.m = 1};
  for (int i = 0; i < 20; ++i) c.r.push_back(i / 100.0);
  c.r.push_back(1.0);
  c.caps.assign(c.r.size(), 1e9);
  c.sectors.assign(c.r.size(), 0);
  Estimator est;
  DateFit fit;
  ASSERT_TRUE(est.fit(c.view(), {}, fit));
  double sum = 0.01;  // 0 % clipped up to 1 %
  for (int i = 1; i < 20; ++i) sum += i / 100.0;
  sum += 0.19;  // 100 % clipped down to 19 %
  EXPECT_NEAR(fit.factor_returns[0], sum / 21, 1e-15);
  EXPECT_NEAR(fit.residuals[20], 0.19 - sum / 21, 1e-15);
}

TEST(ToranikoModel, AStyleThatIsZeroOnEveryAssetGetsAZeroReturnLikeLstsq) {
  std::mt19937_64 rng(3);
  Case c = random_case(rng, 200, 5, 2);
  for (std::size_t i = 0; i < 200; ++i) c.styles[i * 2 + 1] = 0;
  Estimator est;
  DateFit fit;
  ASSERT_TRUE(est.fit(c.view(), {}, fit));
  EXPECT_NEAR(fit.factor_returns[1 + 5 + 1], 0.0, 1e-14);
  EXPECT_TRUE(std::isfinite(fit.factor_returns[1 + 5]));
}

TEST(ToranikoModel, BadInputIsAnErrorThatSaysWhatIsWrong) {
  std::mt19937_64 rng(5);
  const Case good = random_case(rng, 50, 3, 1);
  Estimator est;
  DateFit fit;
  const auto error_of = [&](const Case& c) {
    auto r = est.fit(c.view(), {}, fit);
    return r ? std::string("no error") : r.error().message;
  };
  Case c = good;
  c.r[3] = std::nan("");
  EXPECT_NE(error_of(c).find("asset 3: return nan is not finite"), std::string::npos)
      << error_of(c);
  c = good;
  c.caps[7] = -5;
  EXPECT_NE(error_of(c).find("asset 7: market cap -5 is not positive"), std::string::npos);
  c = good;
  c.sectors[9] = 3;
  EXPECT_NE(error_of(c).find("asset 9: sector 3 of 3"), std::string::npos);
  c = good;
  c.styles.pop_back();
  EXPECT_NE(error_of(c).find("49 style values for 1 styles"), std::string::npos);
  c = good;
  c.styles[0] = INFINITY;
  EXPECT_NE(error_of(c).find("not finite"), std::string::npos);
  EXPECT_EQ(error_of(good), "no error");
}

}  // namespace
}  // namespace nautilus::toraniko
