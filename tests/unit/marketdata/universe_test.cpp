// The research universe (`nautilus sample --universe`): determinism, shapes and calendar, the
// bars against the hub's CSV reader, point-in-time fundamentals, and the ground truth: a
// regression on the true exposures recovers the true factor returns, and
// tests/reference/universe_check.py recomputes the exposures independently with numpy.
#include "nautilus/marketdata/universe.hpp"

#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <set>
#include <sstream>
#include <unordered_map>

#include "nautilus/core/time.hpp"
#include "nautilus/marketdata/csv.hpp"
#include "nautilus/marketdata/reference.hpp"

namespace nautilus::marketdata {
namespace {

namespace fs = std::filesystem;
constexpr std::int64_t kDayNs = 86'400'000'000'000;

class TempDir {
 public:
  TempDir()
      : path_(fs::temp_directory_path() /
              ("nautilus_universe_" + std::to_string(::getpid()) + "_" +
               ::testing::UnitTest::GetInstance()->current_test_info()->name())) {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string sub(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

std::string read_all(const std::string& path) {
  gzFile z = gzopen(path.c_str(), "rb");  // plain files too
  std::string out;
  if (z == nullptr) return out;
  std::array<char, 1 << 16> buf{};
  int n = 0;
  while ((n = gzread(z, buf.data(), buf.size())) > 0)
    out.append(buf.data(), static_cast<std::size_t>(n));
  gzclose(z);
  return out;
}

std::string raw_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string_view> split(std::string_view line, char sep = ',') {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (true) {
    const std::size_t j = line.find(sep, i);
    out.push_back(line.substr(i, j == std::string_view::npos ? line.npos : j - i));
    if (j == std::string_view::npos) return out;
    i = j + 1;
  }
}

// The data rows of a CSV text (header dropped), split into cells; `header` receives the header.
std::vector<std::vector<std::string_view>> rows_of(const std::string& text,
                                                   std::vector<std::string_view>* header) {
  std::vector<std::vector<std::string_view>> rows;
  std::string_view rest(text);
  bool first = true;
  while (!rest.empty()) {
    const std::size_t nl = rest.find('\n');
    const std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    if (first) {
      if (header != nullptr) *header = split(line);
      first = false;
      continue;
    }
    rows.push_back(split(line));
  }
  return rows;
}

double num(std::string_view s) {
  double v = std::nan("");
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

std::int64_t day_of(std::string_view date) { return *core::parse_timestamp(date) / kDayNs; }
bool weekday(std::int64_t day) {
  const int w = static_cast<int>(((day + 4) % 7 + 7) % 7);
  return w != 0 && w != 6;
}

double correlation(const std::vector<double>& a, const std::vector<double>& b) {
  const double n = static_cast<double>(a.size());
  const double ma = std::accumulate(a.begin(), a.end(), 0.0) / n;
  const double mb = std::accumulate(b.begin(), b.end(), 0.0) / n;
  double sab = 0;
  double saa = 0;
  double sbb = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) * (a[i] - ma);
    sbb += (b[i] - mb) * (b[i] - mb);
  }
  return sab / std::sqrt(saa * sbb);
}

double stdev(const std::vector<double>& v) {
  const double m = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
  double ss = 0;
  for (const double x : v) ss += (x - m) * (x - m);
  return std::sqrt(ss / static_cast<double>(v.size() - 1));
}

// Solves the normal equations of least squares (Gaussian elimination with partial pivoting).
std::vector<double> least_squares(const std::vector<std::vector<double>>& x,
                                  const std::vector<double>& y) {
  const std::size_t k = x.front().size();
  std::vector<std::vector<double>> a(k, std::vector<double>(k + 1, 0.0));
  for (std::size_t r = 0; r < x.size(); ++r) {
    for (std::size_t i = 0; i < k; ++i) {
      for (std::size_t j = 0; j < k; ++j) a[i][j] += x[r][i] * x[r][j];
      a[i][k] += x[r][i] * y[r];
    }
  }
  for (std::size_t c = 0; c < k; ++c) {
    std::size_t p = c;
    for (std::size_t r = c + 1; r < k; ++r) {
      if (std::abs(a[r][c]) > std::abs(a[p][c])) p = r;
    }
    std::swap(a[c], a[p]);
    for (std::size_t r = 0; r < k; ++r) {
      if (r == c) continue;
      const double f = a[r][c] / a[c][c];
      for (std::size_t j = c; j <= k; ++j) a[r][j] -= f * a[c][j];
    }
  }
  std::vector<double> b(k);
  for (std::size_t i = 0; i < k; ++i) b[i] = a[i][k] / a[i][i];
  return b;
}

const std::vector<std::string> kFiles = {"daily_bars.csv.gz",      "reference.csv.gz",
                                         "universe.csv.gz",        "truth_factor_returns.csv",
                                         "truth_exposures.csv.gz", "README.md"};

TEST(Universe, TheSameSeedWritesTheSameBytesAndAnotherSeedDoesNot) {
  TempDir dir;
  const UniverseOptions small{.seed = 5, .symbols = 40, .days = 30};
  ASSERT_TRUE(write_universe(small, dir.sub("a")));
  ASSERT_TRUE(write_universe(small, dir.sub("b")));
  UniverseOptions other = small;
  other.seed = 6;
  ASSERT_TRUE(write_universe(other, dir.sub("c")));
  for (const auto& f : kFiles) {
    const auto a = raw_bytes(dir.sub("a/" + f));
    EXPECT_FALSE(a.empty()) << f;
    EXPECT_EQ(a, raw_bytes(dir.sub("b/" + f))) << f;
  }
  for (const auto* f : {"daily_bars.csv.gz", "universe.csv.gz", "truth_factor_returns.csv"}) {
    EXPECT_NE(read_all(dir.sub(std::string("a/") + f)), read_all(dir.sub(std::string("c/") + f)))
        << f;
  }
}

TEST(Universe, WritesTheDescribedShapesOnAWeekdayCalendar) {
  TempDir dir;
  // A Saturday start moves to the Monday.
  const UniverseOptions o{.seed = 3, .symbols = 45, .days = 70, .start = "2023-01-07"};
  auto summary = write_universe(o, dir.sub("u"));
  ASSERT_TRUE(summary) << summary.error().message;
  EXPECT_EQ(summary->first_day, "2023-01-09");
  EXPECT_EQ(summary->files, kFiles);
  for (const auto& f : kFiles) EXPECT_TRUE(fs::exists(dir.sub("u/" + f))) << f;

  std::vector<std::string_view> header;
  const auto universe_text = read_all(dir.sub("u/universe.csv.gz"));
  const auto universe = rows_of(universe_text, &header);
  EXPECT_EQ(header,
            (std::vector<std::string_view>{"date", "symbol", "return", "market_cap", "sector",
                                           "book_price", "sales_price", "cf_price"}));
  ASSERT_EQ(universe.size(), 45U * (kUniverseBurnIn + 70));
  // Dates: weekdays in order, each with every symbol once, in alphabetical order.
  std::vector<std::string_view> dates;
  std::map<std::string_view, std::string_view> sector_of;
  for (std::size_t r = 0; r < universe.size(); ++r) {
    const auto& row = universe[r];
    ASSERT_EQ(row.size(), 8U) << r;
    if (r % 45 == 0) {
      dates.push_back(row[0]);
    } else {
      ASSERT_EQ(row[0], dates.back()) << r;
      ASSERT_LT(universe[r - 1][1], row[1]) << r;
    }
    auto [it, fresh] = sector_of.emplace(row[1], row[4]);
    ASSERT_EQ(it->second, row[4]) << row[1] << " changed sector";
    ASSERT_GT(num(row[3]), 0) << r;
    ASSERT_GT(num(row[5]), 0) << r;
    ASSERT_GT(num(row[6]), 0) << r;
    ASSERT_GT(num(row[2]), -1) << r;
  }
  ASSERT_EQ(dates.size(), kUniverseBurnIn + 70U);
  for (std::size_t k = 1; k < dates.size(); ++k) {
    const auto a = day_of(dates[k - 1]);
    const auto b = day_of(dates[k]);
    ASSERT_TRUE(weekday(b)) << dates[k];
    ASSERT_LT(a, b);
    for (auto d = a + 1; d < b; ++d)
      ASSERT_FALSE(weekday(d)) << "a weekday skipped before " << dates[k];
  }
  EXPECT_EQ(dates[kUniverseBurnIn], "2023-01-09");
  EXPECT_EQ(std::string(dates.front()), summary->first_history_day);
  EXPECT_EQ(std::string(dates.back()), summary->last_day);
  std::set<std::string_view> sectors_seen;
  for (const auto& [s, sector] : sector_of) sectors_seen.insert(sector);
  EXPECT_EQ(sectors_seen.size(), 11U);  // at least three symbols each, however few symbols
  for (const auto& s : sectors_seen) {
    EXPECT_NE(std::find(gics_sectors().begin(), gics_sectors().end(), s), gics_sectors().end());
  }

  const auto truth_text = read_all(dir.sub("u/truth_factor_returns.csv"));
  const auto truth = rows_of(truth_text, &header);
  std::vector<std::string_view> want = {"date", "market"};
  want.insert(want.end(), gics_sectors().begin(), gics_sectors().end());
  for (const auto* s : {"mom", "sze", "val"}) want.emplace_back(s);
  EXPECT_EQ(header, want);
  EXPECT_TRUE(std::is_sorted(gics_sectors().begin(), gics_sectors().end()));
  ASSERT_EQ(truth.size(), 70U);
  double sector_sum = 0;
  for (std::size_t k = 0; k < truth.size(); ++k) {
    EXPECT_EQ(truth[k][0], dates[kUniverseBurnIn + k]);
    double sum = 0;
    for (std::size_t s = 2; s < 13; ++s) sum += num(truth[k][s]);
    sector_sum = std::max(sector_sum, std::abs(sum));
  }
  EXPECT_LT(sector_sum, 1e-15);  // sectors sum to zero each day

  const auto exposures_text = read_all(dir.sub("u/truth_exposures.csv.gz"));
  const auto exposures = rows_of(exposures_text, &header);
  EXPECT_EQ(header, (std::vector<std::string_view>{"date", "symbol", "mom", "sze", "val"}));
  ASSERT_EQ(exposures.size(), 45U * 70);
  EXPECT_EQ(exposures.front()[0], "2023-01-09");
  const auto bars_text = read_all(dir.sub("u/daily_bars.csv.gz"));
  EXPECT_EQ(rows_of(bars_text, &header).size(), 45U * (kUniverseBurnIn + 70));  // burn-in too

  // The reference rows: a first row of each symbol before the history starts, sectors as in the
  // universe, and a filing every quarter or so.
  ReferenceStore store;
  auto loaded = store.load({dir.sub("u/reference.csv.gz")});
  ASSERT_TRUE(loaded) << loaded.error().message;
  ASSERT_EQ(store.symbols().size(), 45U);
  const auto first = *core::parse_timestamp(dates.front());
  const auto span_days = day_of(dates.back()) - day_of(dates.front());
  for (const auto& s : store.symbols()) {
    const auto h = store.history(s);
    ASSERT_FALSE(h.empty());
    EXPECT_LT(h.front().as_of, first) << s.value();
    EXPECT_EQ(h.front().sector, sector_of.at(s.value())) << s.value();
    EXPECT_NEAR(static_cast<double>(h.size() - 1), span_days / 91.3, 1.5) << s.value();
  }
}

TEST(Universe, RefusesBadOptionsAndADirectoryItCannotCreate) {
  TempDir dir;
  auto r = write_universe({.symbols = 10}, dir.sub("x"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "universe: symbols must be 33 to 5000, not 10");
  r = write_universe({.days = 0}, dir.sub("x"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "universe: days must be 1 to 10000, not 0");
  r = write_universe({.start = "2023-02-30"}, dir.sub("x"));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("universe: start: "), std::string::npos) << r.error().message;
  UniverseOptions bad_vol;
  bad_vol.market_volatility = -0.1;
  r = write_universe(bad_vol, dir.sub("x"));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("market_volatility"), std::string::npos);
  fs::create_directories(dir.sub(""));
  std::ofstream(dir.sub("file")) << "x";
  r = write_universe({.symbols = 40, .days = 5}, dir.sub("file/below"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::ErrorCode::kIo);
  EXPECT_NE(r.error().message.find(dir.sub("file/below")), std::string::npos) << r.error().message;
}

// The default universe, written once per test that needs it (ctest runs each test in a process of
// its own; writing takes about two seconds).
class DefaultUniverse : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = write_universe({}, dir_.sub("u"));
    ASSERT_TRUE(s) << s.error().message;
    summary_ = *s;
  }
  std::string file(const std::string& name) const { return dir_.sub("u/" + name); }
  TempDir dir_;
  UniverseSummary summary_;
};

TEST_F(DefaultUniverse, IsFiveHundredSymbolsOverSevenHundredFiftySixDaysFrom20230103) {
  EXPECT_EQ(summary_.symbols, 500U);
  EXPECT_EQ(summary_.days, 756U);
  EXPECT_EQ(summary_.first_day, "2023-01-03");
  // 756 weekdays from 2023-01-03, and 524 before it.
  std::int64_t d = day_of("2023-01-03");
  for (int k = 1; k < 756; ++k) {
    do ++d;
    while (!weekday(d));
  }
  EXPECT_EQ(*core::parse_timestamp(summary_.last_day) / kDayNs, d);
  d = day_of("2023-01-03");
  for (int k = 0; k < kUniverseBurnIn; ++k) {
    do --d;
    while (!weekday(d));
  }
  EXPECT_EQ(*core::parse_timestamp(summary_.first_history_day) / kDayNs, d);
}

TEST_F(DefaultUniverse, BarsPassTheHubsCsvReaderAndCloseAtFourPmNewYork) {
  auto reader = CsvReader::open(file("daily_bars.csv.gz"));
  ASSERT_TRUE(reader) << reader.error().message;
  EXPECT_EQ(reader->kind(), RecordKind::kBar);
  std::size_t n = 0;
  std::unordered_map<std::string, double> last_close;
  std::vector<std::pair<std::string, double>> closes;  // in file order
  while (true) {
    auto rec = reader->next();
    ASSERT_TRUE(rec) << rec.error().message;
    if (!*rec) break;
    const auto& bar = std::get<model::Bar>(**rec);
    ASSERT_EQ(bar.interval_s, 86'400U);
    // 16:00 New York: 21:00 UTC in standard time, 20:00 in daylight time.
    const auto hour = (bar.ts_event % kDayNs) / 3'600'000'000'000;
    const std::string date = core::format_timestamp(bar.ts_event).substr(0, 10);
    const int month = std::stoi(date.substr(5, 2));
    if (month >= 4 && month <= 10) {
      ASSERT_EQ(hour, 20) << date;
    } else if (month == 12 || month <= 2) {
      ASSERT_EQ(hour, 21) << date;
    }
    ASSERT_LE(bar.close.to_string().size() - bar.close.to_string().find('.'), 5U);
    closes.emplace_back(std::string(bar.symbol.value()), bar.close.as_double());
    ++n;
  }
  EXPECT_EQ(n, 500U * (kUniverseBurnIn + 756));  // the burn-in has bars too
  // The universe's return is the close-to-close return of these bars (to its 10 decimals).
  const auto text = read_all(file("universe.csv.gz"));
  const auto rows = rows_of(text, nullptr);
  ASSERT_EQ(rows.size(), closes.size());
  double worst = 0;
  for (std::size_t k = 500; k < closes.size(); ++k) {
    ASSERT_EQ(rows[k][1], closes[k].first);
    const double want = closes[k].second / closes[k - 500].second - 1;
    worst = std::max(worst, std::abs(num(rows[k][2]) - want));
  }
  EXPECT_LT(worst, 6e-11);
}

TEST_F(DefaultUniverse, MarketCapsAndRatiosComeFromTheReferenceKnownThatDay) {
  ReferenceStore store;
  ASSERT_TRUE(store.load({file("reference.csv.gz")}));
  auto reader = CsvReader::open(file("daily_bars.csv.gz"));
  ASSERT_TRUE(reader);
  const auto text = read_all(file("universe.csv.gz"));
  const auto rows = rows_of(text, nullptr);
  std::size_t k = 0;  // the bars start with the burn-in, as the universe's rows do
  double worst = 0;
  std::size_t changes = 0;
  std::unordered_map<std::string, double> last_shares;
  while (true) {
    auto rec = reader->next();
    ASSERT_TRUE(rec) << rec.error().message;
    if (!*rec) break;
    const auto& bar = std::get<model::Bar>(**rec);
    const auto* ref = store.find(bar.symbol, bar.ts_event);
    ASSERT_NE(ref, nullptr);
    const auto& row = rows[k++];
    const double cap = ref->shares_outstanding * bar.close.as_double();
    EXPECT_NEAR(num(row[3]), cap, 0.5) << row[0] << " " << row[1];
    worst = std::max({worst, std::abs(num(row[5]) / (ref->book_value / num(row[3])) - 1),
                      std::abs(num(row[6]) / (ref->sales / num(row[3])) - 1),
                      std::abs(num(row[7]) / (ref->operating_cash_flow / num(row[3])) - 1)});
    auto& shares = last_shares[std::string(bar.symbol.value())];
    if (shares != 0 && shares != ref->shares_outstanding) ++changes;
    shares = ref->shares_outstanding;
  }
  EXPECT_LT(worst, 1e-9);
  // Fundamentals change with each quarterly filing: about 20 filings over the 1280 days (burn-in
  // and 3 written years) per symbol.
  EXPECT_GT(changes, 500U * 17);
  EXPECT_LT(changes, 500U * 23);
}

// Per written day, least squares of the returns on market + 11 sectors (the last one minus the
// sum of the others: the sum-to-zero constraint the generator draws them with, and toraniko's)
// + the true exposures. Thresholds: 0.9 for market and each style, as the model's magnitudes
// predict about 0.95 for a style (5 % a year, 0.3 %/day, against a standard error of about
// 0.1 %/day from 500 symbols with 1.9 %/day idiosyncratic noise) and 0.99 for the market; 0.7 for
// a sector, whose 25 to 75 members leave a standard error of 0.2 to 0.4 %/day against 0.5 %/day.
// The magnitudes themselves are checked against the ranges the model states.
TEST_F(DefaultUniverse, ARegressionOnTheTrueExposuresRecoversTheTrueFactorReturns) {
  const auto utext = read_all(file("universe.csv.gz"));
  const auto urows = rows_of(utext, nullptr);
  const auto etext = read_all(file("truth_exposures.csv.gz"));
  const auto erows = rows_of(etext, nullptr);
  std::vector<std::string_view> names;
  const auto ttext = read_all(file("truth_factor_returns.csv"));
  const auto trows = rows_of(ttext, &names);
  const std::size_t n = 500;
  const std::size_t days = trows.size();
  ASSERT_EQ(days, 756U);
  ASSERT_EQ(erows.size(), n * days);
  const auto& sectors = gics_sectors();
  const std::size_t m = sectors.size();
  const std::size_t factors = 1 + m + 3;
  ASSERT_EQ(names.size(), 1 + factors);

  std::vector<std::vector<double>> est(factors);
  std::vector<std::vector<double>> tru(factors);
  std::vector<std::vector<double>> resid(n);
  const std::size_t offset = n * kUniverseBurnIn;
  for (std::size_t d = 0; d < days; ++d) {
    std::vector<std::vector<double>> x(n, std::vector<double>(m + 3, 0.0));
    std::vector<double> y(n);
    for (std::size_t i = 0; i < n; ++i) {
      const auto& u = urows[offset + d * n + i];
      const auto& e = erows[d * n + i];
      ASSERT_EQ(u[0], e[0]);
      ASSERT_EQ(u[1], e[1]);
      ASSERT_EQ(u[0], trows[d][0]);
      y[i] = num(u[2]);
      x[i][0] = 1;  // market
      const auto s = static_cast<std::size_t>(std::find(sectors.begin(), sectors.end(), u[4]) -
                                              sectors.begin());
      ASSERT_LT(s, m);
      if (s + 1 < m) {
        x[i][1 + s] = 1;
      } else {
        for (std::size_t j = 1; j < m; ++j) x[i][j] = -1;
      }
      for (std::size_t k = 0; k < 3; ++k) x[i][m + k] = num(e[2 + k]);
    }
    const auto b = least_squares(x, y);
    double last_sector = 0;
    est[0].push_back(b[0]);
    for (std::size_t j = 1; j < m; ++j) {
      est[j].push_back(b[j]);
      last_sector -= b[j];
    }
    est[m].push_back(last_sector);
    for (std::size_t k = 0; k < 3; ++k) est[1 + m + k].push_back(b[m + k]);
    std::vector<double> t(factors);
    for (std::size_t j = 0; j < factors; ++j) {
      t[j] = num(trows[d][1 + j]);
      tru[j].push_back(t[j]);
    }
    // What the true factors leave: the idiosyncratic return.
    for (std::size_t i = 0; i < n; ++i) {
      const auto& u = urows[offset + d * n + i];
      const auto& e = erows[d * n + i];
      const auto s = static_cast<std::size_t>(std::find(sectors.begin(), sectors.end(), u[4]) -
                                              sectors.begin());
      resid[i].push_back(y[i] - t[0] - t[1 + s] - t[1 + m] * num(e[2]) - t[2 + m] * num(e[3]) -
                         t[3 + m] * num(e[4]));
    }
  }
  for (std::size_t j = 0; j < factors; ++j) {
    const double c = correlation(est[j], tru[j]);
    const bool sector = j >= 1 && j <= m;
    EXPECT_GT(c, sector ? 0.7 : 0.9) << names[1 + j];
    std::printf("  %-24s correlation %.4f  volatility %.3f a year\n",
                std::string(names[1 + j]).c_str(), c, stdev(tru[j]) * std::sqrt(252.0));
  }
  const double year = std::sqrt(252.0);
  EXPECT_NEAR(stdev(tru[0]) * year, 0.16, 0.03);  // market
  for (std::size_t j = 1; j <= m; ++j)
    EXPECT_NEAR(stdev(tru[j]) * year, 0.08, 0.015) << names[1 + j];
  for (std::size_t k = 0; k < 3; ++k) {
    EXPECT_NEAR(stdev(tru[1 + m + k]) * year, 0.05, 0.01) << names[2 + m + k];
  }
  std::vector<double> idio;
  for (const auto& r : resid) idio.push_back(stdev(r) * year);
  std::sort(idio.begin(), idio.end());
  // Each in [0.25, 0.35] up to sampling error: 756 days estimate a volatility of 0.35 to about
  // 0.009 (0.35 / sqrt(2 x 756)); the extremes of 500 symbols stand about 3 of those out.
  EXPECT_GT(idio.front(), 0.22);
  EXPECT_LT(idio.back(), 0.38);
  EXPECT_GT(idio.back() - idio.front(), 0.07);  // heterogeneous
}

TEST_F(DefaultUniverse, AnIndependentNumpyCheckRecomputesTheExposuresAndRegression) {
  if (std::system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "/usr/bin/python3 has no numpy (scripts/install-deps.sh installs it)";
  }
  const std::string cmd = "/usr/bin/python3 " NAUTILUS_SOURCE_DIR
                          "/tests/reference/universe_check.py " +
                          dir_.sub("u") + " --min-corr 0.9 --min-sector-corr 0.7 2>&1";
  std::FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  std::array<char, 4096> buf{};
  while (std::fgets(buf.data(), static_cast<int>(buf.size()), p) != nullptr) out += buf.data();
  const int status = ::pclose(p);
  EXPECT_EQ(status, 0) << out;
  EXPECT_NE(out.find("exposures sze: max |recomputed - truth|"), std::string::npos) << out;
  EXPECT_NE(out.find("recovery val: correlation"), std::string::npos) << out;
}

}  // namespace
}  // namespace nautilus::marketdata
