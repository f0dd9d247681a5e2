// Performance metrics of a series of daily simple returns, alone and against a benchmark, with
// empyrical 0.5.5's formulas, and QuantStats' (or Bailey & López de Prado's) where empyrical has
// none. No bus here: the analytics engine and `nautilus compute analytics` call it.
// tests/reference/analytics_reference.py recomputes every value with numpy and scipy.
//
//   std::vector<analytics::Date> dates = ...;  // strictly increasing, one per return
//   std::vector<double> r = ...;               // 0.01 is +1% that day
//   auto m = analytics::compute_metrics(dates, r);        // or (dates, r, benchmark)
//   if (!m) return std::unexpected(m.error());
//   use(m->sharpe_ratio, m->drawdown.depth, m->monthly, m->benchmark->beta);
//
// Conventions, for every metric alike:
// - A NaN return is a missing day: it is left out before anything is computed (so `days`, the
//   returns used, is what annualises), and the day's benchmark return with it. A NaN benchmark
//   return leaves the day out of the benchmark metrics only. (empyrical is not consistent here:
//   nanmean in some functions, len() counting NaN days in others.) Infinities are errors.
// - Standard deviations have ddof 1. `risk_free` is per day, subtracted from every return, as
//   empyrical's `risk_free` (Sharpe, alpha) and `required_return` (Sortino, downside risk, whose
//   minimum acceptable return it is) and Omega's `risk_free` with a 0 threshold.
// - A ratio whose denominator is 0 is what IEEE division gives, as numpy gives in empyrical: NaN
//   for 0 / 0 (all-zero returns have Sharpe NaN), +-inf otherwise. Too few days give NaN.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "nautilus/core/error.hpp"

namespace nautilus::analytics {

using Date = std::chrono::sys_days;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// "2024-01-31" (exactly that form: a proleptic Gregorian date) and back; kParse quotes the text.
[[nodiscard]] core::Result<Date> parse_date(std::string_view text);
[[nodiscard]] std::string format_date(Date date);

struct MetricsOptions {
  double risk_free = 0;        // per day
  double annualization = 252;  // days a year
};

// The deepest fall of wealth, prod(1 + r), from its high before it (empyrical's max_drawdown:
// the wealth starts at 1 before the first return, so a first-day loss is a drawdown).
struct Drawdown {
  double depth = kNaN;           // max_drawdown: low / high - 1, <= 0
  std::optional<Date> peak;      // the last day at the high; none: the starting wealth, or no fall
  std::optional<Date> trough;    // the day of the low (the first, on a tie); none: no fall
  std::optional<Date> recovery;  // the first day back at the high; none: not (yet) recovered
  // Calendar days under water, inclusive: from the first day below the high (the day after the
  // peak, or the first day) to the last (the day before the recovery, or the last day), as
  // QuantStats' drawdown_details "days". 0 without a fall.
  std::int32_t duration_days = 0;
};

// A calendar month's or year's compounded return, prod(1 + r) - 1 over its days with a return
// (empyrical's aggregate_returns). A month without one is not listed.
struct PeriodReturn {
  std::int32_t year = 0;
  std::uint32_t month = 0;  // 1 to 12; 0 for a year
  double value = 0;
};

// Against the benchmark, over the days where both returns are known (`days` of them).
struct BenchmarkMetrics {
  std::size_t days = 0;
  double alpha = kNaN;  // empyrical alpha: (1 + mean((r - rf) - beta (b - rf)))^annualization - 1
  double beta = kNaN;   // empyrical beta: cov(r, b) / var(b), both ddof 0; NaN when var < 1e-30
  // mean(r - b) / sd(r - b), per day, not annualised: empyrical's excess_sharpe, which is also
  // QuantStats' information_ratio (QuantStats gives 0 where sd is 0; this gives the division).
  double information_ratio = kNaN;
};

struct Metrics {
  std::size_t days = 0;          // returns used
  std::size_t missing_days = 0;  // NaN returns left out

  // empyrical 0.5.5 (the function of the same name)
  double cum_returns_final = kNaN;          // prod(1 + r) - 1
  double annual_return = kNaN;              // CAGR: (1 + cum)^(annualization / days) - 1
  double annual_volatility = kNaN;          // sd(r) sqrt(annualization)
  double sharpe_ratio = kNaN;               // mean(r - rf) / sd(r - rf) sqrt(annualization)
  double downside_risk = kNaN;              // sqrt(mean(min(r - rf, 0)^2)) sqrt(annualization)
  double sortino_ratio = kNaN;              // mean(r - rf) annualization / downside_risk
  Drawdown drawdown;                        // max_drawdown is drawdown.depth
  double calmar_ratio = kNaN;               // annual_return / -max_drawdown; NaN without a drawdown
  double omega_ratio = kNaN;                // sum of (r - rf) > 0 / -(sum < 0); NaN: no loss
  double tail_ratio = kNaN;                 // |95th percentile| / |5th percentile| (numpy's linear)
  double stability_of_timeseries = kNaN;    // R^2 of cumsum(log1p(r)) on day number (scipy)
  double value_at_risk = kNaN;              // 5th percentile of r (numpy's linear)
  double conditional_value_at_risk = kNaN;  // mean of the floor((days - 1) 0.05) + 1 lowest r
  // pandas' (and QuantStats'): the unbiased G1 and the unbiased excess kurtosis G2, equal to
  // scipy's skew and kurtosis with bias=False (empyrical's list holds scipy's biased ones).
  // NaN under 3 (skew) or 4 (kurtosis) days, or with no variance by scipy's test (a second
  // central moment under (1e-15 mean)^2; pandas says 0 there).
  double skew = kNaN;
  double kurtosis = kNaN;
  // Bailey & López de Prado (2012): P(true Sharpe > 0) = Phi(SR / s), SR the daily Sharpe ratio,
  // s^2 = (1 - skew SR + (kurtosis + 2) / 4 SR^2) / (days - 1), i.e. (raw kurtosis - 1) / 4.
  // QuantStats' probabilistic_sharpe_ratio has (kurtosis - 1) / 4 there: it subtracts 3 from
  // pandas' kurtosis, which is already excess (its maintainer declined the fix, quantstats PR
  // #195). This follows the paper.
  double probabilistic_sharpe_ratio = kNaN;
  // QuantStats (daily returns)
  double hit_rate = kNaN;       // win_rate: days > 0 / days != 0; none non-zero: NaN, not 0
  double payoff_ratio = kNaN;   // mean of r > 0 / |mean of r < 0|; NaN if either has no day
  double profit_factor = kNaN;  // sum of r >= 0 / |sum of r < 0|; no loss: inf, 0 if no gain
  double best_day = kNaN;
  double worst_day = kNaN;
  double best_month = kNaN;  // of `monthly`
  double worst_month = kNaN;
  double best_year = kNaN;  // of `yearly`
  double worst_year = kNaN;
  std::vector<PeriodReturn> monthly;  // in date order
  std::vector<PeriodReturn> yearly;

  std::optional<BenchmarkMetrics> benchmark;  // with a benchmark
};

// Errors (kInvalidArgument, naming what is wrong): dates and returns of different lengths,
// dates not strictly increasing, an infinite return, annualization not positive, or a
// risk_free that is not finite. Empty input is no error: every metric is NaN.
[[nodiscard]] core::Result<Metrics> compute_metrics(std::span<const Date> dates,
                                                    std::span<const double> returns,
                                                    const MetricsOptions& options = {});
// `benchmark[i]` is the benchmark's return on dates[i] (align_returns in returns_csv.hpp lines a
// file up); a benchmark of another length than `returns` is an error.
[[nodiscard]] core::Result<Metrics> compute_metrics(std::span<const Date> dates,
                                                    std::span<const double> returns,
                                                    std::span<const double> benchmark,
                                                    const MetricsOptions& options = {});

// empyrical's roll_sharpe_ratio, aligned on the input: element i is the Sharpe ratio of
// returns[i - window + 1 .. i] without its NaNs (NaN under 2 of them), and NaN for i < window - 1.
// Errors: window under 2, an infinite return.
[[nodiscard]] core::Result<std::vector<double>> rolling_sharpe(std::span<const double> returns,
                                                               std::size_t window,
                                                               const MetricsOptions& options = {});
// empyrical's roll_annual_volatility, aligned the same way: sd(ddof 1) sqrt(annualization) of
// each window's returns without their NaNs (NaN under 2 of them).
[[nodiscard]] core::Result<std::vector<double>> rolling_volatility(
    std::span<const double> returns, std::size_t window, const MetricsOptions& options = {});

}  // namespace nautilus::analytics
