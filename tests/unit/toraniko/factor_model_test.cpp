// The model over dates (factor_model.hpp): which row each input comes from, what is left out
// when data is missing, and what is refused.
#include "nautilus/engines/toraniko/factor_model.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>

#include "nautilus/factor_core/styles.hpp"

namespace nautilus::toraniko {
namespace {

// toraniko's style scores (factor_core: the research universe's generator draws on them too).
using factor_core::kMomentumHistory;
using factor_core::kMomentumLag;
using factor_core::kMomentumWindow;
using factor_core::momentum_raw;
using factor_core::momentum_scores;
using factor_core::size_scores;
using factor_core::value_scores;

// A panel of `n` symbols over `days` dates, every symbol every day, three sectors.
struct Panel {
  std::vector<std::string> symbols;
  std::vector<std::string> dates;
  std::vector<std::vector<double>> ret, cap, bp, sp, cf;  // [date][symbol]
};

Panel make_panel(std::size_t n, std::size_t days, std::uint64_t seed = 1) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> z;
  Panel p;
  for (std::size_t i = 0; i < n; ++i) p.symbols.push_back("S" + std::to_string(100 + i));
  std::vector<double> c(n);
  for (std::size_t i = 0; i < n; ++i) c[i] = std::exp(21 + 2 * z(rng));
  for (std::size_t d = 0; d < days; ++d) {
    p.dates.push_back("D" + std::to_string(10000 + d));
    std::vector<double> r(n), b(n), s(n), f(n);
    for (std::size_t i = 0; i < n; ++i) {
      r[i] = 0.015 * z(rng);
      c[i] *= 1 + r[i];
      b[i] = std::exp(-1 + 0.5 * z(rng));
      s[i] = std::exp(-0.5 + 0.5 * z(rng));
      f[i] = 0.05 + 0.03 * z(rng);
    }
    p.ret.push_back(r);
    p.cap.push_back(c);
    p.bp.push_back(b);
    p.sp.push_back(s);
    p.cf.push_back(f);
  }
  return p;
}

std::vector<Row> rows_of(const Panel& p, std::size_t d) {
  std::vector<Row> rows;
  for (std::size_t i = 0; i < p.symbols.size(); ++i) {
    rows.push_back({.symbol = p.symbols[i],
                    .sector = static_cast<std::uint16_t>(i % 3),
                    .ret = p.ret[d][i],
                    .market_cap = p.cap[d][i],
                    .book_price = p.bp[d][i],
                    .sales_price = p.sp[d][i],
                    .cf_price = p.cf[d][i]});
  }
  return rows;
}

const std::vector<std::string> kSectors = {"A", "B", "C"};

TEST(ToranikoFactorModel, ComputedStylesOfADateAreTheScoresOfEachSymbolsPreviousRow) {
  const std::size_t n = 60;
  const std::size_t days = kMomentumHistory + 6;
  const Panel p = make_panel(n, days);
  FactorModel computed({.sectors = kSectors});
  // The same dates through given styles that this test computes from the day before's rows.
  FactorModel given({.sectors = kSectors, .given_styles = {"mom", "sze", "val"}});
  std::size_t compared = 0;
  for (std::size_t d = 0; d < days; ++d) {
    auto a = computed.add_date(p.dates[d], rows_of(p, d));
    ASSERT_TRUE(a) << a.error().message;
    if (d < static_cast<std::size_t>(kMomentumHistory)) {
      EXPECT_FALSE(*a) << "momentum is not defined before 524 rows of history, date " << d;
      continue;
    }
    ASSERT_TRUE(*a) << d;
    const std::size_t prev = d - 1;
    std::vector<double> raw(n);
    for (std::size_t i = 0; i < n; ++i) {
      std::vector<double> window;
      for (std::size_t t = prev + 1 - kMomentumHistory; t <= prev - kMomentumLag; ++t)
        window.push_back(p.ret[t][i]);
      ASSERT_EQ(window.size(), static_cast<std::size_t>(kMomentumWindow));
      raw[i] = momentum_raw(window);
    }
    const auto mom = momentum_scores(raw);
    const auto sze = size_scores(p.cap[prev]);
    const auto val = value_scores(p.bp[prev], p.sp[prev], p.cf[prev]);
    std::vector<double> x(n * 3);
    auto rows = rows_of(p, d);
    for (std::size_t i = 0; i < n; ++i) {
      x[i * 3] = mom[i];
      x[i * 3 + 1] = sze[i];
      x[i * 3 + 2] = val[i];
      rows[i].market_cap = p.cap[prev][i];  // the weight known before the return
      rows[i].styles = std::span<const double>(x).subspan(i * 3, 3);
    }
    auto b = given.add_date(p.dates[d], rows);
    ASSERT_TRUE(b && *b);
    ASSERT_EQ((*a)->fit.factor_returns.size(), 1U + 3 + 3);
    for (std::size_t j = 0; j < 7; ++j) {
      EXPECT_NEAR((*a)->fit.factor_returns[j], (*b)->fit.factor_returns[j], 1e-15) << j;
    }
    EXPECT_EQ((*a)->symbols, (*b)->symbols);
    ++compared;
  }
  EXPECT_EQ(compared, 6U);
  EXPECT_EQ(computed.factor_names(),
            (std::vector<std::string>{"market", "A", "B", "C", "mom", "sze", "val"}));
  EXPECT_EQ(computed.dates_fitted(), 6U);
  EXPECT_EQ(computed.dates_skipped(), static_cast<std::uint64_t>(kMomentumHistory));
  // The exposures the next date will load on: the last date's own scores.
  const auto latest = computed.latest_exposures();
  ASSERT_EQ(latest.size(), n);
  EXPECT_EQ(latest[0].symbol, "S100");
  EXPECT_NEAR(latest[0].values[1], size_scores(p.cap[days - 1])[0], 1e-15);
}

TEST(ToranikoFactorModel, AnAssetMissingDataOnADateIsLeftOutOfThatDateNotFilled) {
  const Panel p = make_panel(30, 3);
  std::vector<double> x(30 * 2);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = std::sin(static_cast<double>(i));
  const auto with_styles = [&](std::vector<Row> rows) {
    for (std::size_t i = 0; i < rows.size(); ++i)
      rows[i].styles = std::span<const double>(x).subspan(i * 2, 2);
    return rows;
  };
  const FactorModelConfig cfg{.sectors = kSectors, .given_styles = {"a", "b"}};
  FactorModel model(cfg);
  auto rows = with_styles(rows_of(p, 0));
  rows[4].ret = std::nan("");         // S104: no return
  rows[9].market_cap = std::nan("");  // S109: no market cap
  auto fit = model.add_date(p.dates[0], rows);
  ASSERT_TRUE(fit && *fit);
  EXPECT_EQ((*fit)->assets, 28U);
  EXPECT_EQ(std::count((*fit)->symbols.begin(), (*fit)->symbols.end(), "S104"), 0);
  EXPECT_EQ(std::count((*fit)->symbols.begin(), (*fit)->symbols.end(), "S109"), 0);
  EXPECT_EQ(model.rows_left_out(), 2U);
  // The same as a date without those two rows at all.
  FactorModel without(cfg);
  auto kept = with_styles(rows_of(p, 0));
  std::vector<Row> fewer;
  for (std::size_t i = 0; i < kept.size(); ++i) {
    if (i != 4 && i != 9) fewer.push_back(kept[i]);
  }
  auto ref = without.add_date(p.dates[0], fewer);
  ASSERT_TRUE(ref && *ref);
  for (std::size_t j = 0; j < (*ref)->fit.factor_returns.size(); ++j) {
    EXPECT_EQ((*fit)->fit.factor_returns[j], (*ref)->fit.factor_returns[j]);
  }
}

TEST(ToranikoFactorModel, ADateWithFewerAssetsThanParametersPlusOneIsNotFitted) {
  const Panel p = make_panel(6, 1);
  std::vector<double> x(6 * 3, 0.5);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<double>(i % 5);
  auto rows = rows_of(p, 0);
  for (std::size_t i = 0; i < rows.size(); ++i)
    rows[i].styles = std::span<const double>(x).subspan(i * 3, 3);
  // Three sectors and three styles: 6 parameters, so 6 assets are one too few.
  FactorModel model({.sectors = kSectors, .given_styles = {"a", "b", "c"}});
  auto fit = model.add_date(p.dates[0], rows);
  ASSERT_TRUE(fit);
  EXPECT_FALSE(*fit);
  EXPECT_EQ(model.dates_skipped(), 1U);
}

TEST(ToranikoFactorModel, RefusesDatesOutOfOrderASymbolTwiceAndImpossibleValues) {
  const Panel p = make_panel(10, 2);
  FactorModel model({.sectors = kSectors, .value = false});
  ASSERT_TRUE(model.add_date(p.dates[1], rows_of(p, 1)));
  auto again = model.add_date(p.dates[0], rows_of(p, 0));
  ASSERT_FALSE(again);
  EXPECT_NE(again.error().message.find("dates must ascend"), std::string::npos);

  FactorModel fresh({.sectors = kSectors});
  auto rows = rows_of(p, 0);
  rows[3].symbol = rows[2].symbol;
  auto twice = fresh.add_date(p.dates[0], rows);
  ASSERT_FALSE(twice);
  EXPECT_NE(twice.error().message.find("S102 appears twice"), std::string::npos);
  rows = rows_of(p, 0);
  rows[5].market_cap = -1;
  auto negative = fresh.add_date(p.dates[0], rows);
  ASSERT_FALSE(negative);
  EXPECT_NE(negative.error().message.find("S105: market cap -1 is not positive"),
            std::string::npos);
  rows = rows_of(p, 0);
  rows[1].sector = 3;
  auto sector = fresh.add_date(p.dates[0], rows);
  ASSERT_FALSE(sector);
  EXPECT_NE(sector.error().message.find("sector index 3 of 3 sectors"), std::string::npos);
  EXPECT_TRUE(fresh.add_date(p.dates[0], rows_of(p, 0)));  // refused dates changed nothing
}

}  // namespace
}  // namespace nautilus::toraniko
