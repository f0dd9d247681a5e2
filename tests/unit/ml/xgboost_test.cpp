// Scoring an XGBoost model file through the C API (xgboost_model.hpp) against Python's xgboost
// run in the test (tests/reference/xgb_reference.py trains a tiny model and writes
// Booster.inplace_predict of every row): the same predictions from the JSON and the UBJ file.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "nautilus/engines/ml/xgboost_model.hpp"

namespace nautilus::ml {
namespace {

namespace fs = std::filesystem;
constexpr const char* kPythonPath = "/opt/nautilus-deps/python/usr/lib/python3/dist-packages";

class XgbScoring : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(fs::temp_directory_path() / ("nautilus_xgb_" + std::to_string(::getpid())));
    fs::create_directories(*dir_);
    const std::string cmd = fmt::format(
        "PYTHONPATH={} /usr/bin/python3 {}/tests/reference/xgb_reference.py train {} "
        "--rows 500 --features 6 --trees 30 --depth 5 2>&1",
        kPythonPath, NAUTILUS_SOURCE_DIR, dir_->string());
    trained_ = std::system(cmd.c_str()) == 0;
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    fs::remove_all(*dir_, ec);
    delete dir_;
  }
  static std::vector<float> numbers(const fs::path& path) {
    std::vector<float> out;
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
      std::stringstream cells(line);
      std::string cell;
      while (std::getline(cells, cell, ',')) {
        out.push_back(cell == "nan" ? NAN : std::stof(cell));
      }
    }
    return out;
  }
  static inline fs::path* dir_ = nullptr;
  static inline bool trained_ = false;
};

TEST_F(XgbScoring, OneRowAtATimeGivesPythonsPredictionsFromJsonAndUbj) {
  ASSERT_TRUE(trained_) << "tests/reference/xgb_reference.py train failed (python3-xgboost under "
                        << kPythonPath << ": scripts/install-deps.sh unpacks it)";
  const auto rows = numbers(*dir_ / "rows.csv");
  const auto want = numbers(*dir_ / "predictions.csv");
  ASSERT_EQ(rows.size(), want.size() * 6);
  for (const char* file : {"model.json", "model.ubj"}) {
    auto m = XgbModel::load((*dir_ / file).string());
    ASSERT_TRUE(m) << m.error().message;
    EXPECT_EQ(m->features(), 6U);
    double worst = 0;
    std::size_t missing = 0;
    for (std::size_t i = 0; i < want.size(); ++i) {
      const std::span<const float> row(rows.data() + i * 6, 6);
      for (const float v : row) missing += std::isnan(v) ? 1 : 0;
      auto y = m->predict(row);
      ASSERT_TRUE(y) << y.error().message;
      worst = std::max(worst, std::abs(*y - static_cast<double>(want[i])));
    }
    EXPECT_LT(worst, 1e-6) << file;
    EXPECT_GT(missing, 0U);  // missing values went through too
    auto all = m->predict_rows(rows, want.size());
    ASSERT_TRUE(all);
    for (std::size_t i = 0; i < want.size(); ++i) EXPECT_NEAR((*all)[i], want[i], 1e-6);
  }
}

TEST_F(XgbScoring, BadModelsAndRowsAreErrorsThatSayWhy) {
  auto missing = XgbModel::load((*dir_ / "nope.json").string());
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, core::ErrorCode::kIo);
  std::ofstream(*dir_ / "bad.json") << "{not a model";
  auto bad = XgbModel::load((*dir_ / "bad.json").string());
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("not an XGBoost model"), std::string::npos)
      << bad.error().message;
  if (!trained_) GTEST_SKIP() << "no model trained";
  auto m = XgbModel::load((*dir_ / "model.json").string());
  ASSERT_TRUE(m);
  const std::vector<float> short_row(5, 0.f);
  auto y = m->predict(short_row);
  ASSERT_FALSE(y);
  EXPECT_NE(y.error().message.find("5 values for 1 rows of 6 features"), std::string::npos);
}

}  // namespace
}  // namespace nautilus::ml
