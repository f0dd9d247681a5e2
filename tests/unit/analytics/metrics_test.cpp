// The analytics metrics (metrics.hpp): a tiny series worked by hand, the edge cases, and three
// years of seeded returns against an independent numpy/scipy implementation run in the test
// (tests/reference/analytics_reference.py), every metric to 1e-10 relative.
#include "nautilus/engines/analytics/metrics.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <boost/json.hpp>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>

#include "support/run_command.hpp"

namespace nautilus::analytics {
namespace {

using namespace std::chrono_literals;
namespace chr = std::chrono;

constexpr const char* kPythonPath = "/opt/nautilus-deps/python/usr/lib/python3/dist-packages";
const double kInf = std::numeric_limits<double>::infinity();

Date day(int y, unsigned m, unsigned d) { return chr::sys_days(chr::year(y) / m / d); }

// Tue 2024-01-30 to Fri 2024-02-02: two days in January, two in February.
const std::vector<Date> kDates = {day(2024, 1, 30), day(2024, 1, 31), day(2024, 2, 1),
                                  day(2024, 2, 2)};
const std::vector<double> kReturns = {0.10, -0.20, 0.05, 0.10};

TEST(AnalyticsMetrics, FourDaysWorkedByHand) {
  auto m = compute_metrics(kDates, kReturns);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->days, 4U);
  // Wealth 1.1, 0.88, 0.924, 1.0164.
  EXPECT_NEAR(m->cum_returns_final, 0.0164, 1e-15);
  EXPECT_NEAR(m->annual_return, std::pow(1.0164, 252.0 / 4) - 1, 1e-13);  // 4 days of 252
  // mean 0.05 / 4 = 0.0125; deviations 0.0875, -0.2125, 0.0375, 0.0875; their squares sum to
  // 0.061875, so the ddof-1 variance is 0.020625.
  const double sd = std::sqrt(0.020625);
  EXPECT_NEAR(m->annual_volatility, sd * std::sqrt(252.0), 1e-15);
  EXPECT_NEAR(m->sharpe_ratio, 0.0125 / sd * std::sqrt(252.0), 1e-13);
  // Only -0.2 is under 0: sqrt(0.04 / 4) = 0.1 a day.
  EXPECT_NEAR(m->downside_risk, 0.1 * std::sqrt(252.0), 1e-14);
  EXPECT_NEAR(m->sortino_ratio, 0.0125 * 252 / (0.1 * std::sqrt(252.0)), 1e-13);
  // From the high 1.1 (Jan 30) to 0.88 the next day, not recovered by Feb 2: under water Jan 31
  // to Feb 2, 3 calendar days.
  EXPECT_NEAR(m->drawdown.depth, -0.2, 1e-15);
  EXPECT_EQ(m->drawdown.peak, day(2024, 1, 30));
  EXPECT_EQ(m->drawdown.trough, day(2024, 1, 31));
  EXPECT_EQ(m->drawdown.recovery, std::nullopt);
  EXPECT_EQ(m->drawdown.duration_days, 3);
  EXPECT_NEAR(m->calmar_ratio, m->annual_return / 0.2, 1e-12);
  EXPECT_NEAR(m->omega_ratio, 0.25 / 0.2, 1e-15);
  // Sorted -0.2, 0.05, 0.1, 0.1. The 5th percentile sits at 3 x 0.05 = 0.15 of the way from
  // -0.2 to 0.05: -0.1625; the 95th at 2.85, between 0.1 and 0.1.
  EXPECT_NEAR(m->value_at_risk, -0.1625, 1e-15);
  EXPECT_NEAR(m->tail_ratio, 0.1 / 0.1625, 1e-14);
  EXPECT_NEAR(m->conditional_value_at_risk, -0.2, 1e-15);  // int(3 x 0.05) = 0: the lowest one
  // m3 = 2 (0.0875^3) - 0.2125^3 + 0.0375^3 = -0.008203125; G1 = n sqrt(n - 1) / (n - 2) m3 /
  // m2^1.5 with n = 4.
  EXPECT_NEAR(m->skew, 4 * std::sqrt(3.0) / 2 * -0.008203125 / std::pow(0.061875, 1.5), 1e-13);
  // m4 = 2 (0.0875^4) + 0.2125^4 + 0.0375^4; G2 = 4 5 3 m4 / (2 1 m2^2) - 3 3^2 / (2 1).
  const double m4 = 2 * std::pow(0.0875, 4) + std::pow(0.2125, 4) + std::pow(0.0375, 4);
  EXPECT_NEAR(m->kurtosis, 60 * m4 / (2 * 0.061875 * 0.061875) - 27.0 / 2, 1e-12);
  EXPECT_NEAR(m->hit_rate, 0.75, 1e-15);
  EXPECT_NEAR(m->payoff_ratio, (0.25 / 3) / 0.2, 1e-15);
  EXPECT_NEAR(m->profit_factor, 0.25 / 0.2, 1e-15);
  EXPECT_EQ(m->best_day, 0.10);
  EXPECT_EQ(m->worst_day, -0.20);
  // January 1.1 x 0.8 - 1, February 1.05 x 1.1 - 1.
  ASSERT_EQ(m->monthly.size(), 2U);
  EXPECT_EQ(m->monthly[0].year, 2024);
  EXPECT_EQ(m->monthly[0].month, 1U);
  EXPECT_NEAR(m->monthly[0].value, -0.12, 1e-15);
  EXPECT_EQ(m->monthly[1].month, 2U);
  EXPECT_NEAR(m->monthly[1].value, 0.155, 1e-15);
  EXPECT_NEAR(m->best_month, 0.155, 1e-15);
  EXPECT_NEAR(m->worst_month, -0.12, 1e-15);
  ASSERT_EQ(m->yearly.size(), 1U);
  EXPECT_EQ(m->yearly[0].month, 0U);
  EXPECT_NEAR(m->best_year, 0.0164, 1e-15);
  EXPECT_FALSE(m->benchmark.has_value());
}

TEST(AnalyticsMetrics, ABenchmarkTwiceTheReturnsHasBetaOneHalfAndNoAlpha) {
  std::vector<double> twice;
  for (const double r : kReturns) twice.push_back(2 * r);
  auto m = compute_metrics(kDates, kReturns, twice);
  ASSERT_TRUE(m) << m.error().message;
  ASSERT_TRUE(m->benchmark.has_value());
  EXPECT_EQ(m->benchmark->days, 4U);
  EXPECT_NEAR(m->benchmark->beta, 0.5, 1e-15);
  EXPECT_NEAR(m->benchmark->alpha, 0.0, 1e-14);  // r - 0.5 (2 r) = 0 every day
  // r - b = -r: its mean over its sd is minus the daily Sharpe ratio.
  EXPECT_NEAR(m->benchmark->information_ratio, -0.0125 / std::sqrt(0.020625), 1e-14);
}

TEST(AnalyticsMetrics, TheDrawdownSaysWhereItStartsBottomsAndRecovers) {
  // Wealth 1.1 (Thu), 0.55 (Fri), 0.66 (Mon), 1.32 (Tue): under water Friday to Monday.
  const std::vector<Date> d = {day(2024, 2, 29), day(2024, 3, 1), day(2024, 3, 4), day(2024, 3, 5)};
  auto m = compute_metrics(d, std::vector<double>{0.1, -0.5, 0.2, 1.0});
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_NEAR(m->drawdown.depth, -0.5, 1e-15);
  EXPECT_EQ(m->drawdown.peak, day(2024, 2, 29));
  EXPECT_EQ(m->drawdown.trough, day(2024, 3, 1));
  EXPECT_EQ(m->drawdown.recovery, day(2024, 3, 5));
  EXPECT_EQ(m->drawdown.duration_days, 4);
  // A loss on the first day falls from the starting wealth, which has no date.
  auto first = compute_metrics(std::span(d).first(3), std::vector<double>{-0.1, 0.05, 0.2});
  ASSERT_TRUE(first);
  EXPECT_NEAR(first->drawdown.depth, -0.1, 1e-15);
  EXPECT_EQ(first->drawdown.peak, std::nullopt);
  EXPECT_EQ(first->drawdown.trough, day(2024, 2, 29));
  EXPECT_EQ(first->drawdown.recovery, day(2024, 3, 4));  // 0.9 x 1.05 x 1.2 = 1.134
  EXPECT_EQ(first->drawdown.duration_days, 2);           // Feb 29 and Mar 1
  // Only gains: no drawdown, so no Calmar ratio either.
  auto up = compute_metrics(std::span(d).first(2), std::vector<double>{0.01, 0.02});
  ASSERT_TRUE(up);
  EXPECT_EQ(up->drawdown.depth, 0.0);
  EXPECT_EQ(up->drawdown.trough, std::nullopt);
  EXPECT_EQ(up->drawdown.duration_days, 0);
  EXPECT_TRUE(std::isnan(up->calmar_ratio));
  EXPECT_TRUE(std::isnan(up->payoff_ratio));  // no losing day
  EXPECT_EQ(up->profit_factor, kInf);
  EXPECT_EQ(up->sortino_ratio, kInf);  // no downside: the division, as numpy's
}

TEST(AnalyticsMetrics, NoReturnsIsNoErrorAndEveryMetricNaN) {
  auto m = compute_metrics({}, {});
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->days, 0U);
  for (const double v : {m->cum_returns_final,
                         m->annual_return,
                         m->annual_volatility,
                         m->sharpe_ratio,
                         m->sortino_ratio,
                         m->drawdown.depth,
                         m->calmar_ratio,
                         m->omega_ratio,
                         m->tail_ratio,
                         m->stability_of_timeseries,
                         m->skew,
                         m->kurtosis,
                         m->value_at_risk,
                         m->conditional_value_at_risk,
                         m->probabilistic_sharpe_ratio,
                         m->hit_rate,
                         m->payoff_ratio,
                         m->profit_factor,
                         m->best_day,
                         m->worst_month,
                         m->best_year}) {
    EXPECT_TRUE(std::isnan(v)) << v;
  }
  EXPECT_TRUE(m->monthly.empty());
}

TEST(AnalyticsMetrics, OneReturnHasAGrowthRateButNoSpread) {
  auto m = compute_metrics(std::span(kDates).first(1), std::vector<double>{0.01});
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_NEAR(m->annual_return, std::pow(1.01, 252.0) - 1, 1e-12);
  EXPECT_EQ(m->value_at_risk, 0.01);
  EXPECT_EQ(m->tail_ratio, 1.0);
  for (const double v : {m->annual_volatility, m->sharpe_ratio, m->sortino_ratio, m->omega_ratio,
                         m->stability_of_timeseries, m->skew, m->probabilistic_sharpe_ratio}) {
    EXPECT_TRUE(std::isnan(v)) << v;
  }
}

TEST(AnalyticsMetrics, AllZeroReturnsHaveNoSharpeRatioAsInEmpyrical) {
  const std::vector<double> zeros(4, 0.0);
  auto m = compute_metrics(kDates, zeros, zeros);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->annual_volatility, 0.0);
  EXPECT_TRUE(std::isnan(m->sharpe_ratio));  // 0 / 0
  EXPECT_TRUE(std::isnan(m->sortino_ratio));
  EXPECT_TRUE(std::isnan(m->omega_ratio));  // no loss to divide by
  EXPECT_TRUE(std::isnan(m->tail_ratio));
  EXPECT_TRUE(std::isnan(m->skew));
  EXPECT_TRUE(std::isnan(m->kurtosis));
  EXPECT_TRUE(std::isnan(m->hit_rate));  // no day is non-zero
  EXPECT_EQ(m->profit_factor, 0.0);
  EXPECT_EQ(m->stability_of_timeseries, 0.0);  // scipy's linregress: r = 0 for a flat line
  EXPECT_EQ(m->drawdown.depth, 0.0);
  EXPECT_TRUE(std::isnan(m->calmar_ratio));
  EXPECT_TRUE(std::isnan(m->benchmark->beta));  // the benchmark does not vary
  EXPECT_TRUE(std::isnan(m->benchmark->information_ratio));
}

TEST(AnalyticsMetrics, ANaNReturnIsAMissingDayLeftOutOfEverything) {
  const std::vector<Date> d = {day(2024, 1, 29), day(2024, 1, 30), day(2024, 1, 31),
                               day(2024, 2, 1), day(2024, 2, 2)};
  const double nan = std::nan("");
  const std::vector<double> b = {0.01, 0.02, -0.03, 0.04, 0.05};
  auto with = compute_metrics(d, std::vector<double>{nan, 0.10, -0.20, 0.05, 0.10}, b);
  auto without = compute_metrics(kDates, kReturns, std::span(b).subspan(1));
  ASSERT_TRUE(with && without);
  EXPECT_EQ(with->days, 4U);
  EXPECT_EQ(with->missing_days, 1U);
  EXPECT_EQ(with->sharpe_ratio, without->sharpe_ratio);
  EXPECT_EQ(with->annual_return, without->annual_return);  // 4 days annualise, not 5
  EXPECT_EQ(with->drawdown.duration_days, without->drawdown.duration_days);
  EXPECT_EQ(with->benchmark->days, 4U);
  EXPECT_EQ(with->benchmark->beta, without->benchmark->beta);
  // A NaN benchmark return leaves its day out of the benchmark metrics only.
  std::vector<double> b2 = {0.01, 0.02, nan, 0.04, 0.05};
  auto partial = compute_metrics(d, std::vector<double>{0.0, 0.10, -0.20, 0.05, 0.10}, b2);
  auto alone = compute_metrics(d, std::vector<double>{0.0, 0.10, -0.20, 0.05, 0.10});
  ASSERT_TRUE(partial && alone);
  EXPECT_EQ(partial->sharpe_ratio, alone->sharpe_ratio);
  EXPECT_EQ(partial->benchmark->days, 4U);
  EXPECT_FALSE(std::isnan(partial->benchmark->beta));
}

TEST(AnalyticsMetrics, BadInputIsAnErrorThatSaysWhatIsWrong) {
  const auto error_of = [](const core::Result<Metrics>& m) {
    EXPECT_FALSE(m);
    if (m) return std::string("no error");
    EXPECT_EQ(m.error().code, core::ErrorCode::kInvalidArgument);
    return m.error().message;
  };
  const std::vector<double> three = {0.01, 0.02, 0.03};
  EXPECT_EQ(error_of(compute_metrics(kDates, kReturns, three)),
            "the benchmark has 3 returns for 4 dates (it must be aligned on the returns' dates: "
            "align_returns)");
  EXPECT_EQ(error_of(compute_metrics(kDates, three)), "4 dates for 3 returns");
  const std::vector<Date> back = {day(2024, 1, 2), day(2024, 1, 3), day(2024, 1, 3)};
  EXPECT_EQ(error_of(compute_metrics(back, three)),
            "dates must increase: dates[2] 2024-01-03 is not after dates[1] 2024-01-03");
  EXPECT_EQ(
      error_of(compute_metrics(std::span(kDates).first(3), std::vector<double>{0.01, kInf, 0.0})),
      "returns[1] is infinite");
  EXPECT_EQ(error_of(compute_metrics(kDates, kReturns, {.annualization = 0})),
            "annualization 0 is not a positive number");
  auto w = rolling_sharpe(kReturns, 1);
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().message, "a rolling window of 1 days: it needs at least 2");
}

TEST(AnalyticsMetrics, DatesParseAndFormatAsIso) {
  auto d = parse_date("2024-02-29");
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(*d, day(2024, 2, 29));
  EXPECT_EQ(format_date(*d), "2024-02-29");
  for (const char* bad : {"2023-02-29", "2024-1-05", "2024/01/05", "20240105", "2024-01-0x"}) {
    auto e = parse_date(bad);
    ASSERT_FALSE(e) << bad;
    EXPECT_EQ(e.error().message, fmt::format("'{}' is not a date (YYYY-MM-DD)", bad));
  }
}

TEST(AnalyticsMetrics, RollingSharpeIsTheSharpeRatioOfEachWindow) {
  auto w = rolling_sharpe(kReturns, 3);
  ASSERT_TRUE(w) << w.error().message;
  ASSERT_EQ(w->size(), 4U);
  EXPECT_TRUE(std::isnan((*w)[0]));
  EXPECT_TRUE(std::isnan((*w)[1]));
  for (std::size_t end = 3; end <= 4; ++end) {
    auto m = compute_metrics(std::span(kDates).subspan(end - 3, 3),
                             std::span(kReturns).subspan(end - 3, 3));
    ASSERT_TRUE(m);
    EXPECT_EQ((*w)[end - 1], m->sharpe_ratio) << end;
  }
}

// empyrical's roll_annual_volatility: each window's annual_volatility, i.e. the same metric as
// compute_metrics gives over the window alone.
TEST(AnalyticsMetrics, RollingVolatilityIsTheAnnualVolatilityOfEachWindow) {
  auto w = rolling_volatility(kReturns, 3);
  ASSERT_TRUE(w) << w.error().message;
  ASSERT_EQ(w->size(), 4U);
  EXPECT_TRUE(std::isnan((*w)[0]));
  EXPECT_TRUE(std::isnan((*w)[1]));
  for (std::size_t end = 3; end <= 4; ++end) {
    auto m = compute_metrics(std::span(kDates).subspan(end - 3, 3),
                             std::span(kReturns).subspan(end - 3, 3));
    ASSERT_TRUE(m);
    EXPECT_EQ((*w)[end - 1], m->annual_volatility) << end;
  }
  EXPECT_FALSE(rolling_volatility(kReturns, 1));
}

// ---- against tests/reference/analytics_reference.py ----

struct Series {
  std::vector<Date> dates;
  std::vector<double> returns, benchmark;
};

// Three years of weekdays: fat-tailed daily returns (a normal law mixed with a wide one) with
// beta 0.8 on a benchmark, a flat day now and then, and, when `gaps`, NaN days in both.
Series make_series(std::uint64_t seed, bool gaps) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> z;
  std::uniform_real_distribution<double> u;
  Series s;
  for (Date d = day(2021, 1, 4); d <= day(2023, 12, 29); d += chr::days(1)) {
    const chr::weekday w{d};
    if (w == chr::Saturday || w == chr::Sunday) continue;
    const double b = 0.0003 + 0.010 * z(rng) * (u(rng) < 0.05 ? 3.0 : 1.0);
    double r = 0.0002 + 0.8 * b + 0.006 * z(rng) * (u(rng) < 0.05 ? 4.0 : 1.0);
    if (u(rng) < 0.03) r = 0;
    s.dates.push_back(d);
    s.returns.push_back(gaps && u(rng) < 0.02 ? std::nan("") : r);
    s.benchmark.push_back(gaps && u(rng) < 0.02 ? std::nan("") : b);
  }
  return s;
}

bool have_scipy() {
  return std::system(
             fmt::format("PYTHONPATH={} /usr/bin/python3 -c 'import scipy' >/dev/null", kPythonPath)
                 .c_str()) == 0;
}

std::optional<boost::json::object> reference(const Series& s, const MetricsOptions& o,
                                             std::size_t window) {
  const std::string path =
      fmt::format("/tmp/nautilus_analytics_{}_{}.csv", ::getpid(),
                  ::testing::UnitTest::GetInstance()->current_test_info()->name());
  {
    std::ofstream out(path);
    out << "date,return,benchmark\n";
    const auto cell = [](double v) { return std::isnan(v) ? std::string() : fmt::format("{}", v); };
    for (std::size_t i = 0; i < s.dates.size(); ++i) {
      out << format_date(s.dates[i]) << ',' << cell(s.returns[i]) << ',' << cell(s.benchmark[i])
          << '\n';
    }
  }
  const std::string cmd = fmt::format(
      "PYTHONPATH={} /usr/bin/python3 {}/tests/reference/analytics_reference.py {} "
      "--risk-free {} --annualization {} --window {}",
      kPythonPath, NAUTILUS_SOURCE_DIR, path, o.risk_free, o.annualization, window);
  const auto [status, text] = test::run_command(cmd);
  std::remove(path.c_str());
  EXPECT_EQ(status, 0) << text;
  if (status != 0) return std::nullopt;
  return boost::json::parse(text).as_object();
}

// 1e-10 relative; the reference writes a non-finite value as "nan", "inf" or "-inf".
void expect_same(double ours, const boost::json::value& theirs, std::string_view what) {
  if (theirs.is_string()) {
    const std::string_view t = theirs.as_string();
    if (t == "nan") {
      EXPECT_TRUE(std::isnan(ours)) << what << ": " << ours << ", the reference NaN";
    } else {
      EXPECT_EQ(ours, t == "inf" ? kInf : -kInf) << what;
    }
    return;
  }
  const double t = theirs.to_number<double>();
  EXPECT_LE(std::abs(ours - t), 1e-10 * std::abs(t))
      << what << ": " << fmt::format("{} here, {} in the reference", ours, t);
}

// A date as the reference writes it ("2024-01-31", or null), so that a failure reads clearly.
std::string text_of(std::optional<Date> d) { return d ? format_date(*d) : "null"; }
std::string text_of(const boost::json::value& v) {
  return v.is_null() ? "null" : std::string(v.as_string());
}

void expect_like_reference(const Series& s, const MetricsOptions& o) {
  constexpr std::size_t kWindow = 63;
  auto m = compute_metrics(s.dates, s.returns, s.benchmark, o);
  ASSERT_TRUE(m) << m.error().message;
  const auto ref = reference(s, o, kWindow);
  ASSERT_TRUE(ref);
  const auto& r = *ref;
  EXPECT_EQ(m->days, r.at("days").to_number<std::size_t>());
  EXPECT_EQ(m->missing_days, r.at("missing_days").to_number<std::size_t>());
  struct Row {
    const char* key;
    double ours;
    const char* follows;
  };
  const Row rows[] = {
      {"cum_returns_final", m->cum_returns_final, "empyrical cum_returns_final"},
      {"annual_return", m->annual_return, "empyrical annual_return (CAGR)"},
      {"annual_volatility", m->annual_volatility, "empyrical annual_volatility"},
      {"sharpe_ratio", m->sharpe_ratio, "empyrical sharpe_ratio"},
      {"downside_risk", m->downside_risk, "empyrical downside_risk"},
      {"sortino_ratio", m->sortino_ratio, "empyrical sortino_ratio"},
      {"calmar_ratio", m->calmar_ratio, "empyrical calmar_ratio"},
      {"omega_ratio", m->omega_ratio, "empyrical omega_ratio"},
      {"tail_ratio", m->tail_ratio, "empyrical tail_ratio"},
      {"stability_of_timeseries", m->stability_of_timeseries, "empyrical, scipy linregress"},
      {"value_at_risk", m->value_at_risk, "empyrical value_at_risk"},
      {"conditional_value_at_risk", m->conditional_value_at_risk, "empyrical"},
      {"skew", m->skew, "pandas/QuantStats skew = scipy skew(bias=False)"},
      {"kurtosis", m->kurtosis, "pandas/QuantStats kurtosis = scipy kurtosis(bias=False)"},
      {"probabilistic_sharpe_ratio", m->probabilistic_sharpe_ratio, "Bailey & Lopez de Prado"},
      {"hit_rate", m->hit_rate, "QuantStats win_rate"},
      {"payoff_ratio", m->payoff_ratio, "QuantStats payoff_ratio"},
      {"profit_factor", m->profit_factor, "QuantStats profit_factor"},
      {"best_day", m->best_day, "QuantStats best"},
      {"worst_day", m->worst_day, "QuantStats worst"},
      {"best_month", m->best_month, "QuantStats best('M'), compounded"},
      {"worst_month", m->worst_month, "QuantStats worst('M'), compounded"},
      {"best_year", m->best_year, "QuantStats best('Y'), compounded"},
      {"worst_year", m->worst_year, "QuantStats worst('Y'), compounded"},
  };
  for (const Row& row : rows) {
    expect_same(row.ours, r.at(row.key), fmt::format("{} ({})", row.key, row.follows));
  }
  // empyrical max_drawdown, and where it lies.
  const auto& dd = r.at("drawdown").as_object();
  expect_same(m->drawdown.depth, dd.at("depth"), "max_drawdown (empyrical)");
  EXPECT_EQ(text_of(m->drawdown.peak), text_of(dd.at("peak"))) << "peak";
  EXPECT_EQ(text_of(m->drawdown.trough), text_of(dd.at("trough"))) << "trough";
  EXPECT_EQ(text_of(m->drawdown.recovery), text_of(dd.at("recovery"))) << "recovery";
  EXPECT_EQ(m->drawdown.duration_days, dd.at("duration_days").to_number<int>());
  // empyrical aggregate_returns, monthly and yearly.
  for (const auto& [table, key] : {std::pair{&m->monthly, "monthly"}, {&m->yearly, "yearly"}}) {
    const auto& t = r.at(key).as_array();
    ASSERT_EQ(table->size(), t.size()) << key;
    for (std::size_t i = 0; i < t.size(); ++i) {
      const auto& row = t[i].as_array();
      EXPECT_EQ((*table)[i].year, row[0].to_number<int>()) << key << " " << i;
      EXPECT_EQ((*table)[i].month, row[1].to_number<unsigned>()) << key << " " << i;
      expect_same((*table)[i].value, row[2], fmt::format("{} {}", key, i));
    }
  }
  // empyrical alpha, beta, excess_sharpe (= QuantStats information_ratio).
  const auto& b = r.at("benchmark").as_object();
  ASSERT_TRUE(m->benchmark.has_value());
  EXPECT_EQ(m->benchmark->days, b.at("days").to_number<std::size_t>());
  expect_same(m->benchmark->alpha, b.at("alpha"), "alpha (empyrical)");
  expect_same(m->benchmark->beta, b.at("beta"), "beta (empyrical)");
  expect_same(m->benchmark->information_ratio, b.at("information_ratio"),
              "information_ratio (empyrical excess_sharpe)");
  // empyrical roll_sharpe_ratio, aligned on the days.
  auto rolling = rolling_sharpe(s.returns, kWindow, o);
  ASSERT_TRUE(rolling) << rolling.error().message;
  const auto& rr = r.at("rolling_sharpe").as_array();
  ASSERT_EQ(rolling->size(), rr.size());
  for (std::size_t i = 0; i < rr.size(); ++i) {
    expect_same((*rolling)[i], rr[i], fmt::format("rolling_sharpe[{}]", i));
  }
}

TEST(AnalyticsMetrics, ThreeYearsMatchTheNumpyScipyReference) {
  if (!have_scipy()) GTEST_SKIP() << "no scipy under " << kPythonPath << " (install-deps)";
  // (Seed 7: its deepest drawdown is not recovered by the end; seed 5's below is.)
  const Series s = make_series(7, false);
  ASSERT_GT(s.dates.size(), 750U);
  expect_like_reference(s, {});
}

TEST(AnalyticsMetrics, MissingDaysAndARiskFreeRateMatchTheReference) {
  if (!have_scipy()) GTEST_SKIP() << "no scipy under " << kPythonPath << " (install-deps)";
  const Series s = make_series(5, true);
  // 2% a year as a daily rate.
  expect_like_reference(s, {.risk_free = std::pow(1.02, 1.0 / 252) - 1});
}

}  // namespace
}  // namespace nautilus::analytics
