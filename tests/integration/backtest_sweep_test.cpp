// `nautilus backtest` with [grid], [sweep] and [walk_forward] (backtest/sweep.hpp), over the
// suite's five-day market: every grid point run (two at once, so ThreadSanitizer sees whether
// backtests on parallel threads share anything) and ranked by the metric; a point of the sweep
// reports exactly what a backtest of that point alone reports; walk-forward folds rank the grid
// on their training days and test the best on the days after; bad grids are named.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <string>

#include "support/backtest_market.hpp"

namespace nautilus {
namespace {

namespace json = boost::json;
using test::backtest;
using test::backtest_market;
using test::read;
using test::TempDir;
using test::write;

const auto* const kRemoveMarket = ::testing::AddGlobalTestEnvironment(new test::RemoveMarket);

const std::string& kLoop = test::kMomentumLoop;

double number_or_nan(const json::value& v) {
  return v.is_null() ? std::nan("") : v.to_number<double>();
}

TEST(BacktestSweep, RunsEveryGridPointRanksThemByTheMetricAndAPointReportsWhatItWouldAlone) {
  TempDir dir;
  const std::string sweep = dir.str("sweep.toml");
  write(sweep, kLoop + R"(
[sweep]
metric = "sharpe_ratio"
workers = 2

[grid]
strategy.lookback = [30, 60]
strategy.threshold = [0.005, 0.01]
)");
  const auto [status, out] = backtest_market(sweep, dir.str("out"));
  ASSERT_EQ(status, 0) << out;
  const json::object s = json::parse(read(dir.str("out/summary.json"))).as_object();
  EXPECT_EQ(s.at("metric").as_string(), "sharpe_ratio");
  EXPECT_EQ(s.at("points").to_number<int>(), 4);
  const auto& runs = s.at("runs").as_array();
  ASSERT_EQ(runs.size(), 4U);
  double previous = INFINITY;
  std::vector<int> indices;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const auto& r = runs[i].as_object();
    EXPECT_EQ(r.at("rank").to_number<std::size_t>(), i + 1);
    EXPECT_FALSE(r.contains("error")) << json::serialize(r);
    const int index = r.at("index").to_number<int>();
    indices.push_back(index);
    // The score is the sharpe_ratio of the report that point's run wrote.
    const json::object report =
        json::parse(read(dir.str("out/runs/" + std::to_string(index) + "/report.json")))
            .as_object();
    const double score = number_or_nan(r.at("score"));
    const double reported = number_or_nan(report.at("metrics").at("sharpe_ratio"));
    if (std::isnan(score)) {
      EXPECT_TRUE(std::isnan(reported));
    } else {
      EXPECT_DOUBLE_EQ(score, reported);
      EXPECT_LE(score, previous) << "ranked best first";
      previous = score;
    }
    // Points in grid order, the last axis fastest: index 0 is lookback 30, threshold 0.005.
    const auto& params = r.at("params").as_object();
    EXPECT_EQ(params.at("strategy.lookback").as_string(), index < 2 ? "30" : "60");
    EXPECT_EQ(params.at("strategy.threshold").as_string(), index % 2 == 0 ? "0.005" : "0.01");
  }
  std::sort(indices.begin(), indices.end());
  EXPECT_EQ(indices, (std::vector<int>{0, 1, 2, 3}));
  // The best point's tearsheet is there; the ranking is printed and in the CSV.
  EXPECT_TRUE(std::filesystem::exists(dir.str(
      "out/runs/" + std::to_string(runs[0].at("index").to_number<int>()) + "/report.html")));
  EXPECT_NE(out.find("rank"), std::string::npos) << out;
  const std::string csv = read(dir.str("out/summary.csv"));
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 5) << csv;
  EXPECT_EQ(csv.rfind("rank,index,strategy.lookback,strategy.threshold,score,sharpe_ratio,", 0), 0U)
      << csv;

  // Point 3 (lookback 60, threshold 0.01) is the config as written: run alone, it reports the
  // same metrics and trades as it did beside another backtest on another thread.
  const std::string single = dir.str("single.toml");
  write(single, kLoop);
  const auto [s1, o1] = backtest_market(single, dir.str("single"));
  ASSERT_EQ(s1, 0) << o1;
  const json::object alone = json::parse(read(dir.str("single/report.json"))).as_object();
  const json::object point = json::parse(read(dir.str("out/runs/3/report.json"))).as_object();
  EXPECT_EQ(json::serialize(alone.at("metrics")), json::serialize(point.at("metrics")));
  EXPECT_EQ(json::serialize(alone.at("trades")), json::serialize(point.at("trades")));
  EXPECT_FALSE(alone.at("trades").as_array().empty()) << "momentum should trade on the market";

  // The same sweep again writes the same summary, byte for byte.
  const auto [s2, o2] = backtest_market(sweep, dir.str("again"), "--workers 1");
  ASSERT_EQ(s2, 0) << o2;
  EXPECT_EQ(read(dir.str("out/summary.json")), read(dir.str("again/summary.json")));
}

TEST(BacktestSweep, WalkForwardTestsEachFoldsBestTrainingPointOnTheDaysAfterIt) {
  TempDir dir;
  const std::string config = dir.str("wf.toml");
  write(config, kLoop + R"(
[sweep]
workers = 2

[grid.strategy]
lookback = [30, 60]

[walk_forward]
train_days = 2
test_days = 1
)");
  const auto [status, out] = backtest_market(config, dir.str("out"));
  ASSERT_EQ(status, 0) << out;
  const json::object s = json::parse(read(dir.str("out/summary.json"))).as_object();
  const auto& wf = s.at("walk_forward").as_object();
  EXPECT_EQ(wf.at("days").to_number<int>(), 5);
  const auto& folds = wf.at("folds").as_array();
  ASSERT_EQ(folds.size(), 3U);  // (5 days - 2 training) / 1 test day
  std::string last_train_from;
  for (std::size_t k = 0; k < folds.size(); ++k) {
    const auto& f = folds[k].as_object();
    const auto& train = f.at("train").as_array();
    const auto& test = f.at("test").as_array();
    // Each window is [from, until) in dates; the test days start where the training days end,
    // and each fold's window moves on by the test days.
    EXPECT_EQ(train[1].as_string(), test[0].as_string());
    EXPECT_LT(train[0].as_string(), train[1].as_string());
    EXPECT_LT(test[0].as_string(), test[1].as_string());
    EXPECT_LT(last_train_from, std::string(train[0].as_string()));
    if (k > 0) {
      EXPECT_EQ(train[1].as_string(), folds[k - 1].at("test").at(1).as_string())
          << "each fold's training window ends one test window later than the last one's";
    }
    last_train_from = std::string(train[0].as_string());
    // The chosen point is the best of the training scores.
    const auto& scores = f.at("train_scores").as_array();
    ASSERT_EQ(scores.size(), 2U);
    const double a = number_or_nan(scores[0]);
    const double b = number_or_nan(scores[1]);
    const int best = f.at("best_index").to_number<int>();
    if (!std::isnan(a) && !std::isnan(b) && a != b) EXPECT_EQ(best, a > b ? 0 : 1);
    EXPECT_EQ(f.at("params").at("strategy.lookback").as_string(), best == 0 ? "30" : "60");
    // Its test run saw only the test days: one day of equity, inside the window.
    const json::object report =
        json::parse(read(dir.str("out/folds/" + std::to_string(k) + "/report.json"))).as_object();
    EXPECT_EQ(report.at("equity").as_array().size(), 1U);
    const std::string start(report.at("backtest").at("start").as_string());
    const std::string end(report.at("backtest").at("end").as_string());
    EXPECT_GE(start.substr(0, 10), std::string(test[0].as_string()));
    EXPECT_LT(end.substr(0, 10), std::string(test[1].as_string()));
    EXPECT_TRUE(
        std::filesystem::exists(dir.str("out/folds/" + std::to_string(k) + "/report.html")));
  }
  EXPECT_NE(out.find("fold"), std::string::npos) << out;
}

TEST(BacktestSweep, ABadGridOrWalkForwardIsRefusedNamingTheAxisOrKey) {
  TempDir dir;
  const std::string config = dir.str("bad.toml");
  const auto refused = [&](const std::string& tables, const std::string& named) {
    write(config, kLoop + tables);
    const auto [status, out] = backtest_market(config, dir.str("out"));
    EXPECT_EQ(status, 2) << tables << out;
    EXPECT_NE(out.find(named), std::string::npos) << tables << out;
  };
  refused("[grid]\nstrategy.lookback = [30, \"soon\"]\n", "grid.strategy.lookback: value 'soon'");
  refused("[grid]\nml.horizon = [1, 2]\n", "'ml' is not among the engines");
  refused("[grid]\nlookback = [1, 2]\n", "grid.lookback: must name <engine>.<setting>");
  refused("[grid]\nstrategy.no_such_setting = [1]\n", "no_such_setting");
  refused("[sweep]\nmetric = \"luck\"\n[grid]\nstrategy.lookback = [30]\n",
          "sweep.metric: 'luck' is not a metric");
  refused("[walk_forward]\ntrain_days = 4\ntest_days = 2\n", "the data has 5 days");
  refused("[walk_forward]\ntrain_days = 4\n", "walk_forward: needs train_days and test_days");
  refused("[grid]\n\"strategy.lookback\" = [30]\n[grid.strategy]\nlookback = [60]\n",
          "grid.strategy.lookback: is given twice");
  // Values only the engine judges, at start: every run fails, and so does the sweep, with the
  // exit status of a config error and the first run's reason.
  refused("[grid]\nportfolio.books_interval_s = [0.05, 0.06]\n",
          "every backtest failed; the first: ");
}

}  // namespace
}  // namespace nautilus
