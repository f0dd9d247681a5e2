// The features TA-Lib has no function for (log returns, realized volatility, session VWAP)
// against R's TTR, run in the test by tests/reference/ttr_features.R over the same series.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "nautilus/engines/features/feature_set.hpp"
#include "series.hpp"

namespace nautilus::features {
namespace {

double cell(const std::string& s) { return s.empty() || s == "NA" ? NAN : std::stod(s); }

TEST(TtrReference, LogReturnsRealizedVolatilityAndSessionVwapMatchRsTtr) {
  // Short sessions, so VWAP restarts often; the zero-volume bars open some sessions.
  const auto s = testing::make_series(3000, 11, 97);
  const auto dir =
      std::filesystem::temp_directory_path() / ("nautilus_ttr_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto in = dir / "in.csv";
  const auto out = dir / "out.csv";
  {
    std::ofstream f(in);
    f.precision(17);
    f << "high,low,close,volume,session\n";
    for (std::size_t i = 0; i < s.size(); ++i) {
      f << s.high[i] << ',' << s.low[i] << ',' << s.close[i] << ',' << s.volume[i] << ','
        << s.session[i] << '\n';
    }
  }
  const FeaturePeriods p;
  const std::string cmd = "Rscript " NAUTILUS_SOURCE_DIR "/tests/reference/ttr_features.R " +
                          in.string() + " " + out.string() + " " + std::to_string(p.rv) + " " +
                          std::to_string(p.rv_annualization);
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;

  std::ifstream r(out);
  std::string line;
  std::getline(r, line);
  ASSERT_EQ(line, "log_return,realized_vol,vwap");
  FeatureSet set(p);
  std::size_t i = 0;
  std::size_t compared[3] = {0, 0, 0};
  while (std::getline(r, line)) {
    ASSERT_LT(i, s.size());
    set.update(s.bar(i));
    const auto v = set.values();
    std::stringstream row(line);
    std::string c[3];
    std::getline(row, c[0], ',');
    std::getline(row, c[1], ',');
    std::getline(row, c[2], ',');
    const Feature f[3] = {Feature::kLogReturn, Feature::kRealizedVol, Feature::kVwap};
    for (int k = 0; k < 3; ++k) {
      const double want = cell(c[k]);
      const double got = v[static_cast<std::size_t>(f[k])];
      ASSERT_EQ(std::isnan(got), std::isnan(want))
          << feature_names(p)[static_cast<std::size_t>(f[k])] << " bar " << i;
      if (std::isnan(want)) continue;
      ASSERT_NEAR(got, want, 1e-9 * std::fabs(want) + 1e-15)
          << feature_names(p)[static_cast<std::size_t>(f[k])] << " bar " << i;
      ++compared[k];
    }
    ++i;
  }
  EXPECT_EQ(i, s.size());
  EXPECT_GT(compared[0], 2900u);
  EXPECT_GT(compared[1], 2900u);
  EXPECT_GT(compared[2], 2500u);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace nautilus::features
