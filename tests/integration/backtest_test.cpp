// `nautilus backtest` as a user runs it, over the bundled sample (examples/backtest/momentum.toml):
// two runs write the same bytes; the report's trades reconcile with its equity (cash to the cent,
// fills counted once); the backtest makes the same fills as `nautilus run --deterministic` over
// the same data and settings; a bad config names the key, a bad data row its file, line and
// column.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "support/backtest_market.hpp"
#include "support/run_command.hpp"

namespace nautilus {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using test::backtest;
using test::backtest_market;
using test::market;
using test::read;
using test::run_command;
using test::TempDir;
using test::write;

const std::string kBin = NAUTILUS_BIN;
const std::string kSource = NAUTILUS_SOURCE_DIR;
const std::string kConfig = kSource + "/examples/backtest/momentum.toml";
const auto* const kRemoveMarket = ::testing::AddGlobalTestEnvironment(new test::RemoveMarket);

TEST(Backtest, TwoRunsOfTheSameDataAndSettingsWriteTheSameBytes) {
  TempDir a, b;
  const auto [sa, oa] = backtest_market(kConfig, a.str());
  ASSERT_EQ(sa, 0) << oa;
  const auto [sb, ob] = backtest_market(kConfig, b.str());
  ASSERT_EQ(sb, 0) << ob;
  const std::string ra = read(a.str("report.json"));
  ASSERT_GT(ra.size(), 1000U);
  EXPECT_EQ(ra, read(b.str("report.json")));
  // Progress went to standard error as plain lines (not a terminal), ending with the summary.
  EXPECT_NE(oa.find("events/s"), std::string::npos) << oa;
  EXPECT_NE(oa.find("final NAV"), std::string::npos) << oa;
}

TEST(Backtest, TheReportsTradesReconcileWithItsEquityToTheCent) {
  TempDir dir;
  const auto [status, out] = backtest_market(kConfig, dir.str());
  ASSERT_EQ(status, 0) << out;
  const json::object r = json::parse(read(dir.str("report.json"))).as_object();
  const auto& trades = r.at("trades").as_array();
  const auto& equity = r.at("equity").as_array();
  ASSERT_FALSE(trades.empty()) << "the sample's momentum run should trade";
  ASSERT_EQ(equity.size(), 5U);  // the market's trading days
  EXPECT_EQ(r.at("trades_total").to_number<std::uint64_t>(), trades.size());
  // Cash is the starting cash, less what the buys paid and the commissions, plus what the
  // sells received: the last day's cash in the report, to the cent.
  const double initial = r.at("backtest").at("initial_cash").to_number<double>();
  double cash = initial;
  std::map<std::uint64_t, int> seen;
  for (const auto& t : trades) {
    const auto& o = t.as_object();
    const double notional =
        o.at("quantity").to_number<double>() * o.at("price").to_number<double>();
    cash += o.at("side").as_string() == "buy" ? -notional : notional;
    cash -= o.at("commission").to_number<double>();
    ++seen[o.at("trade_id").to_number<std::uint64_t>()];
  }
  for (const auto& [id, n] : seen) EXPECT_EQ(n, 1) << "trade " << id << " counted twice";
  EXPECT_NEAR(cash, equity.back().at("cash").to_number<double>(), 0.005);
  // Each day's return is its NAV over the day before's (the first over the starting cash).
  double prev = initial;
  for (const auto& d : equity) {
    const double nav = d.at("nav").to_number<double>();
    EXPECT_NEAR(d.at("return").to_number<double>(), nav / prev - 1, 1e-12);
    prev = nav;
  }
  // The metrics are of those returns: the compounded total.
  double wealth = 1;
  for (const auto& d : equity) wealth *= 1 + d.at("return").to_number<double>();
  EXPECT_NEAR(r.at("metrics").at("cum_returns_final").to_number<double>(), wealth - 1, 1e-12);
  // With SPY as the benchmark: beta and alpha are there, and the benchmark's returns too.
  EXPECT_TRUE(r.at("metrics").at("beta").is_double());
  EXPECT_TRUE(equity.front().at("benchmark_return").is_double());  // from SPY's first open
  EXPECT_TRUE(equity.back().at("benchmark_return").is_double());
  EXPECT_TRUE(r.at("warnings").as_array().empty());
  const auto& orders = r.at("orders").as_object();
  EXPECT_GE(orders.at("submitted").to_number<std::uint64_t>(),
            orders.at("filled").to_number<std::uint64_t>());
  EXPECT_EQ(r.at("bars").at("symbol").as_string(), "AAPL");
  // 5 days of AAPL's minute bars (1,950) fit in the 4,096 points kept: one bar each.
  const auto& bars = r.at("bars").as_object();
  EXPECT_EQ(bars.at("bars_per_point").to_number<int>(), 1);
  EXPECT_EQ(bars.at("points").as_array().size(), 1'950U);
  const auto& vpin = r.at("vpin").as_object();
  EXPECT_EQ(vpin.at("symbol").as_string(), "AAPL");
  EXPECT_FALSE(vpin.at("points").as_array().empty());
}

// The same engines and settings through `nautilus run --deterministic --record`: every fill of
// the record is a trade of the report, in the same order, at the same price. (The run is given
// the backtest's default risk.var_interval_s, a day: VaR decides nothing, and every minute it
// would take most of the run's time.)
TEST(Backtest, MakesTheSameFillsAsTheDeterministicRunOverTheSameData) {
  TempDir dir;
  const std::string config = dir.str("bt.toml");
  write(config, "[backtest]\ndata = [\"" + market() + "/bars_1m.csv.gz\", \"" + market() +
                    "/trades.csv.gz\"]\n"
                    "[engines.strategy]\nlookback = 30\nnotional = 20000\n");
  const auto [status, out] = backtest(config, dir.str());
  ASSERT_EQ(status, 0) << out;
  const json::object r = json::parse(read(dir.str("report.json"))).as_object();
  const auto [rs, rout] = run_command(
      kBin +
      " run --deterministic --engines marketdata,features,vpin,enhanced_vpin,ml,strategy,risk,"
      "portfolio,collateral,analytics --set strategy.lookback=30 --set strategy.notional=20000 "
      "--set risk.var_interval_s=86400 "
      "--set marketdata.files=" +
      market() + "/bars_1m.csv.gz," + market() + "/trades.csv.gz --record " +
      dir.str("record.jsonl"));
  ASSERT_EQ(rs, 0) << rout;
  std::ifstream in(dir.str("record.jsonl"));
  std::vector<json::object> fills;
  for (std::string line; std::getline(in, line);) {
    if (line.find("\"portfolio.fill.") == std::string::npos) continue;
    const auto v = json::parse(line).as_object();
    if (v.at("topic").as_string().starts_with("portfolio.fill.")) {
      fills.push_back(v.at("payload").as_object());
    }
  }
  const auto& trades = r.at("trades").as_array();
  ASSERT_EQ(fills.size(), trades.size());
  ASSERT_FALSE(fills.empty());
  for (std::size_t i = 0; i < fills.size(); ++i) {
    const auto& t = trades[i].as_object();
    EXPECT_EQ(fills[i].at("trade_id").to_number<std::uint64_t>(),
              t.at("trade_id").to_number<std::uint64_t>());
    EXPECT_EQ(fills[i].at("symbol").as_string(), t.at("symbol").as_string());
    EXPECT_DOUBLE_EQ(std::stod(std::string(fills[i].at("price").as_string())),
                     t.at("price").to_number<double>())
        << i;
  }
  // The recording is data too (a recorded stream, as `nautilus replay` prints one): a backtest
  // over its bars and trades, every other message of it skipped, makes the same trades.
  const auto [s2, o2] =
      backtest(config, dir.str("from_record"), "--data " + dir.str("record.jsonl"));
  ASSERT_EQ(s2, 0) << o2;
  const json::object again = json::parse(read(dir.str("from_record/report.json"))).as_object();
  EXPECT_EQ(json::serialize(again.at("trades")), json::serialize(r.at("trades")));
  EXPECT_EQ(json::serialize(again.at("metrics")), json::serialize(r.at("metrics")));
}

TEST(Backtest, ABadConfigIsRefusedNamingTheKeyAndABadRowItsFileLineAndColumn) {
  TempDir dir;
  const std::string config = dir.str("bad.toml");
  write(config, "[backtest]\nbogus = 1\n");
  auto [s1, o1] = backtest(config, dir.str("out"));
  EXPECT_EQ(s1, 2);
  EXPECT_NE(o1.find("backtest.bogus"), std::string::npos) << o1;

  write(config, "[engines.risk]\nmax_position = -5\n");
  auto [s2, o2] = backtest(config, dir.str("out"), "--data " + kSource + "/data/sample");
  EXPECT_EQ(s2, 2);
  EXPECT_NE(o2.find("risk.max_position"), std::string::npos) << o2;

  write(config, "[backtest\ndata = 1\n");
  auto [s3, o3] = backtest(config, dir.str("out"));
  EXPECT_EQ(s3, 2);
  EXPECT_NE(o3.find("bad.toml:1:"), std::string::npos) << o3;

  write(config, "[backtest]\nengines = [\"marketdata\", \"nosuch\"]\n");
  auto [s4, o4] = backtest(config, dir.str("out"));
  EXPECT_EQ(s4, 2);
  EXPECT_NE(o4.find("nosuch"), std::string::npos) << o4;

  // A data row with a price that is not a number: the run fails, naming the file and line.
  const std::string data = dir.str("bars.csv");
  write(data,
        "ts,symbol,open,high,low,close,volume\n"
        "2026-01-05T14:31:00Z,AAPL,100,101,99,100.5,1000\n"
        "2026-01-05T14:32:00Z,AAPL,100,1o1,99,100.5,1000\n");
  write(config, "[backtest]\n");
  auto [s5, o5] = backtest(config, dir.str("out"), "--data " + data);
  EXPECT_EQ(s5, 1) << o5;
  EXPECT_NE(o5.find("bars.csv:3"), std::string::npos) << o5;

  auto [s6, o6] = backtest(config, dir.str("out"), "--data " + dir.str("missing.csv"));
  EXPECT_EQ(s6, 2);
  EXPECT_NE(o6.find("missing.csv"), std::string::npos) << o6;

  // No data anywhere: refused, rather than replaying whatever $NAUTILUS_DATA_DIR holds.
  auto [s7, o7] = backtest(config, dir.str("out"));
  EXPECT_EQ(s7, 2);
  EXPECT_NE(o7.find("no data"), std::string::npos) << o7;
  // A setting only the engine itself can judge (portfolio's books_interval_s) is exit 2 too.
  write(config, "[engines.portfolio]\nbooks_interval_s = 0.05\n");
  auto [s8, o8] = backtest(config, dir.str("out"), "--data " + data);
  EXPECT_EQ(s8, 2) << o8;
  EXPECT_NE(o8.find("books_interval_s"), std::string::npos) << o8;
}

TEST(Backtest, ABenchmarkTheDataNeverHadIsAWarningNotSilence) {
  TempDir dir;
  const std::string config = dir.str("bt.toml");
  write(config, "[backtest]\ndata = \"" + market() + "/bars_1m.csv.gz\"\nbenchmark = \"QQQ\"\n");
  const auto [status, out] = backtest(config, dir.str());
  ASSERT_EQ(status, 0) << out;
  EXPECT_NE(out.find("warning: backtest.benchmark QQQ"), std::string::npos) << out;
  const json::object r = json::parse(read(dir.str("report.json"))).as_object();
  ASSERT_EQ(r.at("warnings").as_array().size(), 1U);
  EXPECT_TRUE(r.at("metrics").at("beta").is_null());
}

}  // namespace
}  // namespace nautilus
