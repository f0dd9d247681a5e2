// `nautilus compute ml` as a user runs it: the binary over the bundled sample's features, checked
// against tests/reference/ml_walk_forward.py (the same walk-forward written from its documented
// rules, scikit-learn fitting each window) and against Python's xgboost (xgb_reference.py)
// for an offline model; a changed future return must change no earlier forecast.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "support/run_command.hpp"

namespace {

namespace fs = std::filesystem;
constexpr const char* kPythonPath = "/opt/nautilus-deps/python/usr/lib/python3/dist-packages";

using run_result = std::pair<int, std::string>;
run_result run(const std::string& cmd) { return nautilus::test::run_command(cmd); }

std::string nautilus(const std::string& args) { return fmt::format("{} {}", NAUTILUS_BIN, args); }

using Table = std::vector<std::map<std::string, std::string>>;

Table read_csv(const fs::path& path) {
  std::ifstream in(path);
  std::string line;
  std::vector<std::string> header;
  Table rows;
  const auto cells = [](const std::string& l) {
    std::vector<std::string> out;
    std::stringstream s(l);
    std::string c;
    while (std::getline(s, c, ',')) out.push_back(c);
    if (!l.empty() && l.back() == ',') out.emplace_back();
    return out;
  };
  if (std::getline(in, line)) header = cells(line);
  while (std::getline(in, line)) {
    const auto c = cells(line);
    std::map<std::string, std::string> row;
    for (std::size_t i = 0; i < header.size() && i < c.size(); ++i) row[header[i]] = c[i];
    rows.push_back(std::move(row));
  }
  return rows;
}

class ComputeMl : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(fs::temp_directory_path() /
                        ("nautilus_compute_ml_" + std::to_string(::getpid())));
    fs::create_directories(*dir_);
    features_ok_ = run(nautilus(fmt::format("compute features --bars "
                                            "{}/data/sample/bars_1m.csv.gz --out {}",
                                            NAUTILUS_SOURCE_DIR, features().string())))
                       .first == 0;
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    fs::remove_all(*dir_, ec);
    delete dir_;
  }
  static fs::path features() { return *dir_ / "features.csv"; }

  // compute ml and the reference on the same file and settings; every row of `symbols` must
  // agree: the same cells empty, forecasts to 1e-8 relative, targets exactly.
  static void expect_reference_agrees(const std::string& model, const std::string& settings,
                                      const std::string& reference_settings,
                                      const std::string& symbols) {
    const fs::path ours = *dir_ / ("ours_" + model + ".csv");
    const fs::path theirs = *dir_ / ("theirs_" + model + ".csv");
    const std::string features_list = "rsi14,log_return,realized_vol";
    const auto [rc, out] = run(
        nautilus(fmt::format("compute ml --train {} --model {} --features {} {} --out {}",
                             features().string(), model, features_list, settings, ours.string())));
    ASSERT_EQ(rc, 0) << out;
    const auto [prc, pout] = run(fmt::format(
        "PYTHONPATH={} /usr/bin/python3 {}/tests/reference/ml_walk_forward.py {} --features {} "
        "--model {} {} --symbols {} > {}",
        kPythonPath, NAUTILUS_SOURCE_DIR, features().string(), features_list, model,
        reference_settings, symbols, theirs.string()));
    ASSERT_EQ(prc, 0) << "ml_walk_forward.py (scikit-learn under " << kPythonPath
                      << ", unpacked by scripts/install-deps.sh): " << pout;
    Table a;
    for (auto& row : read_csv(ours)) {
      if (("," + symbols + ",").find("," + row["symbol"] + ",") != std::string::npos) {
        a.push_back(std::move(row));
      }
    }
    const Table b = read_csv(theirs);
    ASSERT_EQ(a.size(), b.size());
    ASSERT_GT(a.size(), 10000U);
    std::size_t forecasts = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
      ASSERT_EQ(a[i].at("ts"), b[i].at("ts")) << i;
      ASSERT_EQ(a[i].at("symbol"), b[i].at("symbol")) << i;
      for (const char* col : {"value", "probability", "target"}) {
        const std::string& x = a[i].at(col);
        const std::string& y = b[i].at(col);
        ASSERT_EQ(x.empty(), y.empty()) << col << " of row " << i << ": '" << x << "' '" << y;
        if (x.empty()) continue;
        const double u = std::stod(x);
        const double v = std::stod(y);
        if (std::string(col) == "target") {
          ASSERT_NEAR(u, v, 1e-15) << "row " << i;  // a sum of the same returns
        } else {
          ASSERT_NEAR(u, v, 1e-12 + 1e-8 * std::abs(v)) << col << " of row " << i;
          ++forecasts;
        }
      }
    }
    EXPECT_GT(forecasts, a.size() / 2);
  }

  static inline fs::path* dir_ = nullptr;
  static inline bool features_ok_ = false;
};

TEST_F(ComputeMl, RidgeForecastsAreScikitLearnsOnTheSameRollingWindows) {
  ASSERT_TRUE(features_ok_);
  expect_reference_agrees("ridge", "--horizon 5 --window 400 --min-train 100 --retrain-every 40",
                          "--horizon 5 --window 400 --min-train 100 --retrain-every 40",
                          "AAPL,SPY,BAC");
}

TEST_F(ComputeMl, LogisticForecastsAreScikitLearnsOnTheSameRollingWindows) {
  ASSERT_TRUE(features_ok_);
  // RSI near 50 beside returns near 1e-3: the case that once stalled the Newton line search.
  expect_reference_agrees("logistic", "--horizon 3 --c 0.5", "--horizon 3 --C 0.5", "AAPL,MSFT");
}

TEST_F(ComputeMl, ChangingOneReturnChangesTheForecastsFromTheBarItIsKnownOnNotBefore) {
  ASSERT_TRUE(features_ok_);
  // Row 2000 of AAPL's features gets another log_return: only the targets that sum it (of the
  // samples 1 to 5 bars earlier) change, and they are known from that bar on. Retraining at
  // every bar, every forecast before it stays the same bit for bit and the one at it changes: a
  // target known a bar early would change the forecast a bar early.
  std::ifstream src(features());
  std::ofstream dst(*dir_ / "changed.csv");
  std::string line;
  std::getline(src, line);
  dst << line << '\n';
  const auto split = [](const std::string& l) {
    std::vector<std::string> cells;
    std::stringstream s(l);
    std::string c;
    while (std::getline(s, c, ',')) cells.push_back(c);
    if (!l.empty() && l.back() == ',') cells.emplace_back();
    return cells;
  };
  const auto header = split(line);
  const auto column = std::find(header.begin(), header.end(), "log_return") - header.begin();
  ASSERT_LT(static_cast<std::size_t>(column), header.size());
  std::size_t aapl = 0;
  std::string changed_ts;
  while (std::getline(src, line)) {
    if (line.find(",AAPL,") != std::string::npos && ++aapl == 2000) {
      auto cells = split(line);
      cells[static_cast<std::size_t>(column)] = "0.05";
      changed_ts = cells[0];
      line = fmt::format("{}", fmt::join(cells, ","));
    }
    dst << line << '\n';
  }
  dst.close();
  ASSERT_FALSE(changed_ts.empty());
  const std::string common =
      "--model ridge --features rsi14,log_return,realized_vol --horizon 5 --window 200 "
      "--min-train 20 --retrain-every 1";
  ASSERT_EQ(run(nautilus(fmt::format("compute ml --train {} {} --out {}", features().string(),
                                     common, (*dir_ / "a.csv").string())))
                .first,
            0);
  ASSERT_EQ(run(nautilus(fmt::format("compute ml --train {} {} --out {}",
                                     (*dir_ / "changed.csv").string(), common,
                                     (*dir_ / "b.csv").string())))
                .first,
            0);
  const Table a = read_csv(*dir_ / "a.csv");
  const Table b = read_csv(*dir_ / "b.csv");
  ASSERT_EQ(a.size(), b.size());
  std::size_t bar = 0;  // AAPL's, from 1
  std::size_t first_changed = 0;
  for (std::size_t i = 0; i < a.size() && first_changed == 0; ++i) {
    if (a[i].at("symbol") != "AAPL") continue;
    ++bar;
    if (a[i].at("value") != b[i].at("value")) first_changed = bar;
  }
  EXPECT_EQ(first_changed, 2000U) << "0: the changed return was never trained on";
}

TEST_F(ComputeMl, AnOfflineXgboostModelScoresAsPythonsXgboostDoes) {
  const fs::path d = *dir_ / "xgb";
  fs::create_directories(d);
  const auto [rc, out] = run(fmt::format(
      "PYTHONPATH={} /usr/bin/python3 {}/tests/reference/xgb_reference.py train {} --rows 300 "
      "--features 4 --trees 20 --depth 4",
      kPythonPath, NAUTILUS_SOURCE_DIR, d.string()));
  ASSERT_EQ(rc, 0) << "xgb_reference.py (python3-xgboost under " << kPythonPath << "): " << out;
  // rows.csv is bare rows; the table adds ts and symbol.
  std::ifstream rows(d / "rows.csv");
  std::ifstream predictions(d / "predictions.csv");
  std::ofstream table(d / "table.csv");
  table << "ts,symbol,a,b,c,d\n";
  std::string row;
  std::vector<std::string> want;
  for (std::size_t i = 0; std::getline(rows, row); ++i) {
    std::string p;
    std::getline(predictions, p);
    want.push_back(row.find("nan") == std::string::npos ? p : "");  // NaN: no forecast
    for (auto pos = row.find("nan"); pos != std::string::npos; pos = row.find("nan")) {
      row.replace(pos, 3, "");
    }
    table << 1'000'000'000 * (i + 1) << ",XGB," << row << '\n';
  }
  table.close();
  for (const char* file : {"model.json", "model.ubj"}) {
    const fs::path o = d / (std::string(file) + ".out.csv");
    const auto [crc, cout] =
        run(nautilus(fmt::format("compute ml --train {} --model xgboost:{} --out {}",
                                 (d / "table.csv").string(), (d / file).string(), o.string())));
    ASSERT_EQ(crc, 0) << cout;
    const Table got = read_csv(o);
    ASSERT_EQ(got.size(), want.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
      ASSERT_EQ(got[i].at("value").empty(), want[i].empty()) << file << " row " << i;
      if (want[i].empty()) continue;
      EXPECT_NEAR(std::stod(got[i].at("value")), std::stod(want[i]), 1e-6) << file << " " << i;
    }
  }
}

TEST_F(ComputeMl, BadInputIsAnErrorNamingFileLineAndColumn) {
  const fs::path bad = *dir_ / "bad.csv";
  const auto write = [&bad](const std::string& text) { std::ofstream(bad) << text; };
  const auto expect_error = [&bad](const std::string& args, const std::string& says) {
    const auto [rc, out] = run(nautilus(
        fmt::format("compute ml --train {} {} --out {}", bad.string(), args, "/dev/null")));
    EXPECT_EQ(rc, 2) << out;
    EXPECT_NE(out.find(says), std::string::npos) << "want '" << says << "' in: " << out;
  };
  write("ts,symbol,x,log_return\n1,A,0.5,0.01\n2,A,oops,0.01\n");
  expect_error("--model ridge",
               fmt::format("{}:3: column x: 'oops' is not a number", bad.string()));
  write("ts,symbol,x,log_return\n2,A,0.5,0.01\n1,A,0.5,0.01\n");
  expect_error("--model ridge",
               fmt::format("{}:3: column ts: 1 is not after A's previous row", bad.string()));
  write("ts,symbol,x,log_return\n1,A,0.5\n");
  expect_error("--model ridge", fmt::format("{}:2: 3 cells, the header has 4", bad.string()));
  write("ts,symbol,x,log_return\nyesterday,A,0.5,0.1\n");
  expect_error("--model ridge", fmt::format("{}:2: column ts:", bad.string()));
  write("ts,symbol,x\n1,A,0.5\n");
  expect_error("--model ridge", "no 'log_return' column for the targets");
  write("ts,symbol,x,log_return\n1,A,0.5,0.01\n");
  expect_error("--model ridge --features x,y", "--features names 'y', not a column");
  expect_error("--model forest", "--model 'forest': want ridge, logistic or xgboost:FILE");
  expect_error("--model xgboost:/nonexistent.json", "/nonexistent.json");
}

}  // namespace
