// The toraniko model over the research universe (marketdata/universe.hpp), whose returns were
// drawn from known factor returns on toraniko's own exposures:
//   - the factor returns are recovered within the noise: each factor's error is compared with
//     the error of the best a regression can do here, a joint WLS on the true exposures;
//   - every date agrees with a dense KKT solve of the constrained problem (kkt.hpp) to 1e-10;
//   - `nautilus compute toraniko` agrees with tests/reference/toraniko_check.py, an independent
//     numpy implementation of toraniko 1.1.0's estimate (np.linalg.lstsq with dense weights).
#include <gtest/gtest.h>
#include <unistd.h>

#include <Eigen/Dense>
#include <array>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <map>
#include <numeric>

#include "kkt.hpp"
#include "nautilus/core/gz_lines.hpp"
#include "nautilus/engines/toraniko/universe_csv.hpp"
#include "nautilus/marketdata/universe.hpp"

namespace nautilus::toraniko {
namespace {

namespace fs = std::filesystem;

std::vector<std::string_view> split(std::string_view line) {
  std::vector<std::string_view> out;
  while (true) {
    const auto c = line.find(',');
    out.push_back(line.substr(0, c));
    if (c == std::string_view::npos) return out;
    line.remove_prefix(c + 1);
  }
}

double num(std::string_view s) {
  double v = std::nan("");
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

// CSV rows (header dropped) of a plain or gzip file.
std::vector<std::vector<std::string>> read_rows(const std::string& path) {
  std::vector<std::vector<std::string>> rows;
  auto in = core::GzLines::open(path);
  EXPECT_TRUE(in) << path;
  if (!in) return rows;
  bool header = true;
  while (true) {
    auto line = in->next();
    if (!line || !*line) break;
    if (header) {
      header = false;
      continue;
    }
    std::vector<std::string> cells;
    for (const auto c : split(**line)) cells.emplace_back(c);
    rows.push_back(std::move(cells));
  }
  return rows;
}

// One universe for the whole suite (writing it takes a few seconds).
class ToranikoOnTheUniverse : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(fs::temp_directory_path() /
                        ("nautilus_toraniko_universe_" + std::to_string(::getpid())));
    auto written = marketdata::write_universe({}, dir_->string());
    ASSERT_TRUE(written) << written.error().message;
    auto u = read_universe_csv((*dir_ / "universe.csv.gz").string(), {});
    ASSERT_TRUE(u) << u.error().message;
    universe_ = new UniverseFile(std::move(*u));
    for (const auto& r : read_rows((*dir_ / "truth_factor_returns.csv").string())) {
      std::vector<double> v;
      for (std::size_t j = 1; j < r.size(); ++j) v.push_back(num(r[j]));
      truth_->emplace(r[0], std::move(v));
    }
    for (const auto& r : read_rows((*dir_ / "truth_exposures.csv.gz").string())) {
      (*exposures_)[r[0]][r[1]] = {num(r[2]), num(r[3]), num(r[4])};
    }
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    fs::remove_all(*dir_, ec);
    delete universe_;
    delete dir_;
  }

  static inline fs::path* dir_ = nullptr;
  static inline UniverseFile* universe_ = nullptr;
  static inline auto* truth_ = new std::map<std::string, std::vector<double>>();
  static inline auto* exposures_ =
      new std::map<std::string, std::map<std::string, std::array<double, 3>>>();
};

TEST_F(ToranikoOnTheUniverse, RecoversTheKnownFactorReturnsWithinTheNoise) {
  FactorModel model(universe_->model_config({}));
  const std::size_t m = universe_->sectors.size();
  const std::size_t f = 1 + m + 3;
  std::vector<double> err2(f, 0.0);     // toraniko's squared errors
  std::vector<double> oracle2(f, 0.0);  // a joint WLS on the true exposures
  std::size_t dates = 0;
  const std::vector<Row>* previous = nullptr;
  for (const auto& d : universe_->dates) {
    auto fit = model.add_date(d.date, d.rows);
    ASSERT_TRUE(fit) << fit.error().message;
    const auto t = truth_->find(d.date);
    if (t == truth_->end()) {
      EXPECT_FALSE(*fit) << d.date << ": a burn-in date was fitted";
    } else {
      ASSERT_TRUE(*fit) << d.date;
      ASSERT_EQ((*fit)->assets, d.rows.size());
      // The oracle: [1, sectors (summing to zero), true exposures], weights sqrt(cap) of the
      // day before, solved jointly.
      const auto n = static_cast<Eigen::Index>(d.rows.size());
      Eigen::MatrixXd x = Eigen::MatrixXd::Zero(n, static_cast<Eigen::Index>(f - 1));
      Eigen::VectorXd y(n);
      Eigen::VectorXd w(n);
      const auto& ex = exposures_->at(d.date);
      for (Eigen::Index i = 0; i < n; ++i) {
        const Row& r = d.rows[static_cast<std::size_t>(i)];
        const Row& p = (*previous)[static_cast<std::size_t>(i)];
        ASSERT_EQ(r.symbol, p.symbol);
        x(i, 0) = 1;
        if (r.sector + 1U < m) {
          x(i, 1 + r.sector) = 1;
        } else {
          x.block(i, 1, 1, static_cast<Eigen::Index>(m - 1)).array() = -1;
        }
        const auto& e = ex.at(std::string(r.symbol));
        for (int k = 0; k < 3; ++k)
          x(i, static_cast<Eigen::Index>(m) + k) = e[static_cast<std::size_t>(k)];
        y(i) = r.ret;
        w(i) = std::sqrt(std::sqrt(p.market_cap));  // rows scaled by sqrt of sqrt(cap)
      }
      const Eigen::VectorXd c =
          (w.asDiagonal() * x).colPivHouseholderQr().solve(w.asDiagonal() * y);
      std::vector<double> oracle(f);
      oracle[0] = c(0);
      double sum = 0;
      for (std::size_t j = 0; j + 1 < m; ++j) {
        oracle[1 + j] = c(static_cast<Eigen::Index>(1 + j));
        sum += oracle[1 + j];
      }
      oracle[m] = -sum;
      for (std::size_t k = 0; k < 3; ++k) oracle[1 + m + k] = c(static_cast<Eigen::Index>(m + k));
      for (std::size_t j = 0; j < f; ++j) {
        err2[j] += std::pow((*fit)->fit.factor_returns[j] - t->second[j], 2);
        oracle2[j] += std::pow(oracle[j] - t->second[j], 2);
      }
      ++dates;
    }
    previous = &d.rows;
  }
  ASSERT_EQ(dates, truth_->size());
  const auto& names = model.factor_names();
  for (std::size_t j = 0; j < f; ++j) {
    const double rmse = std::sqrt(err2[j] / static_cast<double>(dates));
    const double floor = std::sqrt(oracle2[j] / static_cast<double>(dates));
    std::printf("%-24s rmse %.5f, joint WLS on the true exposures %.5f (x%.2f)\n", names[j].c_str(),
                rmse, floor, rmse / floor);
    // toraniko fits market and sectors first and the styles on what is left, and winsorizes:
    // it gives up a little against the joint fit. The market gives up most: it absorbs the
    // cap-weighted mean of the style exposures times the style returns (measured: x1.9).
    EXPECT_LT(rmse, (j == 0 ? 2.5 : 1.3) * floor) << names[j];
  }
}

TEST_F(ToranikoOnTheUniverse, EveryDateAgreesWithADenseKktSolveToOneInTenBillion) {
  // Given styles (the true exposures, with the day before's caps as weights), so this test
  // knows every input of every date exactly.
  FactorModel model({.sectors = universe_->sectors, .given_styles = {"mom", "sze", "val"}});
  const std::size_t m = universe_->sectors.size();
  const std::vector<Row>* previous = nullptr;
  std::size_t dates = 0;
  double worst = 0;
  for (const auto& d : universe_->dates) {
    const auto ex = exposures_->find(d.date);
    if (ex == exposures_->end()) {
      previous = &d.rows;
      continue;
    }
    std::vector<Row> rows = d.rows;
    std::vector<double> x(rows.size() * 3);
    std::vector<double> r;
    std::vector<double> caps;
    std::vector<std::uint16_t> sectors;
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const auto& e = ex->second.at(std::string(rows[i].symbol));
      std::copy(e.begin(), e.end(), x.begin() + static_cast<std::ptrdiff_t>(i * 3));
      rows[i].market_cap = (*previous)[i].market_cap;
      rows[i].styles = std::span<const double>(x).subspan(i * 3, 3);
      r.push_back(rows[i].ret);
      caps.push_back(rows[i].market_cap);
      sectors.push_back(rows[i].sector);
    }
    auto fit = model.add_date(d.date, rows);
    ASSERT_TRUE(fit && *fit) << d.date;
    const auto ref = testing::kkt_fit(r, caps, sectors, m, x, 3, 0.05, true);
    for (std::size_t j = 0; j < ref.factor_returns.size(); ++j) {
      worst = std::max(worst, std::abs((*fit)->fit.factor_returns[j] - ref.factor_returns[j]));
    }
    for (std::size_t i = 0; i < ref.residuals.size(); ++i) {
      worst = std::max(worst, std::abs((*fit)->fit.residuals[i] - ref.residuals[i]));
    }
    ++dates;
    previous = &d.rows;
  }
  EXPECT_EQ(dates, 756U);
  EXPECT_LT(worst, 1e-10);
  std::printf("worst difference from the KKT solve over %zu dates: %.3g\n", dates, worst);
}

TEST_F(ToranikoOnTheUniverse, ComputeAgreesWithAnIndependentNumpyToraniko) {
  if (std::system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "/usr/bin/python3 has no numpy (scripts/install-deps.sh installs it)";
  }
  const std::string out = (*dir_ / "out").string();
  const std::string compute = std::string(NAUTILUS_BIN) + " compute toraniko --universe " +
                              (*dir_ / "universe.csv.gz").string() + " --out " + out;
  ASSERT_EQ(std::system(compute.c_str()), 0) << compute;
  const std::string cmd = "/usr/bin/python3 " NAUTILUS_SOURCE_DIR
                          "/tests/reference/toraniko_check.py " +
                          (*dir_ / "universe.csv.gz").string() + " " + out + " 2>&1";
  std::FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string text;
  std::array<char, 4096> buf{};
  while (std::fgets(buf.data(), static_cast<int>(buf.size()), p) != nullptr) text += buf.data();
  EXPECT_EQ(::pclose(p), 0) << text;
  std::printf("%s", text.c_str());
}

}  // namespace
}  // namespace nautilus::toraniko
