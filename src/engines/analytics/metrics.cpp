#include "nautilus/engines/analytics/metrics.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numbers>

namespace nautilus::analytics {
namespace {

using core::ErrorCode;
using core::fail;
namespace chr = std::chrono;

double mean(std::span<const double> x) {
  if (x.empty()) return kNaN;
  double s = 0;
  for (const double v : x) s += v;
  return s / static_cast<double>(x.size());
}

// Two passes, as numpy's std: the sum of squares about the mean, ddof 1.
double sd(std::span<const double> x) {
  if (x.size() < 2) return kNaN;
  const double m = mean(x);
  double ss = 0;
  for (const double v : x) ss += (v - m) * (v - m);
  return std::sqrt(ss / static_cast<double>(x.size() - 1));
}

// numpy's percentile, method "linear": between the order statistics at (n - 1) q.
double percentile(std::span<const double> sorted, double q) {
  if (sorted.empty()) return kNaN;
  const double h = static_cast<double>(sorted.size() - 1) * q;
  const auto lo = static_cast<std::size_t>(std::floor(h));
  if (lo + 1 >= sorted.size()) return sorted.back();
  return sorted[lo] + (h - static_cast<double>(lo)) * (sorted[lo + 1] - sorted[lo]);
}

std::vector<double> minus(std::span<const double> x, double c) {
  std::vector<double> out(x.begin(), x.end());
  for (double& v : out) v -= c;
  return out;
}

double sharpe(std::span<const double> r, const MetricsOptions& o) {
  if (r.size() < 2) return kNaN;
  const auto x = minus(r, o.risk_free);
  return mean(x) / sd(x) * std::sqrt(o.annualization);
}

Drawdown max_drawdown(std::span<const Date> d, std::span<const double> r) {
  Drawdown out;
  if (r.empty()) return out;
  // The starting wealth is 1 at "index npos", before the first day.
  constexpr std::size_t kStart = static_cast<std::size_t>(-1);
  std::vector<double> wealth(r.size());
  double w = 1, high = 1, worst = 0, worst_high = 1;
  std::size_t high_at = kStart, peak = kStart, trough = kStart;
  for (std::size_t i = 0; i < r.size(); ++i) {
    w *= 1 + r[i];
    wealth[i] = w;
    // >=: a flat day at the high moves the peak to it, so the fall starts the day after.
    if (w >= high) {
      high = w;
      high_at = i;
    }
    const double dd = (w - high) / high;
    if (dd < worst) {
      worst = dd;
      worst_high = high;
      trough = i;
      peak = high_at;
    }
  }
  out.depth = worst;
  if (trough == kStart) return out;
  out.trough = d[trough];
  if (peak != kStart) out.peak = d[peak];
  std::size_t last_under = r.size() - 1;
  for (std::size_t j = trough + 1; j < r.size(); ++j) {
    if (wealth[j] >= worst_high) {
      out.recovery = d[j];
      last_under = j - 1;
      break;
    }
  }
  const Date first_under = d[peak == kStart ? 0 : peak + 1];
  out.duration_days = static_cast<std::int32_t>((d[last_under] - first_under).count()) + 1;
  return out;
}

// Sums of the second to fourth powers of deviations, with scipy's test for no variance.
struct Moments {
  double n = 0, m2 = 0, m3 = 0, m4 = 0;
  bool flat = true;
};
Moments moments(std::span<const double> r) {
  Moments m{.n = static_cast<double>(r.size())};
  if (r.empty()) return m;
  const double mu = mean(r);
  for (const double v : r) {
    const double e = v - mu, e2 = e * e;
    m.m2 += e2;
    m.m3 += e2 * e;
    m.m4 += e2 * e2;
  }
  // scipy's skew and kurtosis call a variance that is all rounding (under (1e-15 mean)^2) none.
  const double tiny = 1e-15 * mu;
  m.flat = m.m2 / m.n <= tiny * tiny;
  return m;
}

double skew_of(const Moments& m) {
  if (m.n < 3 || m.flat) return kNaN;
  return m.n * std::sqrt(m.n - 1) / (m.n - 2) * m.m3 / std::pow(m.m2, 1.5);
}

double kurtosis_of(const Moments& m) {
  if (m.n < 4 || m.flat) return kNaN;
  const double n = m.n, k = (n - 2) * (n - 3);
  return n * (n + 1) * (n - 1) * m.m4 / (k * m.m2 * m.m2) - 3 * (n - 1) * (n - 1) / k;
}

// R^2 of scipy's linregress of cumsum(log1p(r)) on 0, 1, ...: 0 when either does not vary.
double stability(std::span<const double> r) {
  if (r.size() < 2) return kNaN;
  std::vector<double> y(r.size());
  double c = 0;
  for (std::size_t i = 0; i < r.size(); ++i) y[i] = c += std::log1p(r[i]);
  const double n = static_cast<double>(r.size()), xm = (n - 1) / 2, ym = mean(y);
  double sxx = 0, syy = 0, sxy = 0;
  for (std::size_t i = 0; i < y.size(); ++i) {
    const double dx = static_cast<double>(i) - xm, dy = y[i] - ym;
    sxx += dx * dx;
    syy += dy * dy;
    sxy += dx * dy;
  }
  if (sxx == 0 || syy == 0) return 0;
  const double rho = std::clamp(sxy / std::sqrt(sxx * syy), -1.0, 1.0);
  return rho * rho;
}

// Calendar months (or years, with `by_month` false), compounded, in date order.
std::vector<PeriodReturn> periods(std::span<const Date> d, std::span<const double> r,
                                  bool by_month) {
  std::vector<PeriodReturn> out;
  for (std::size_t i = 0; i < r.size(); ++i) {
    const chr::year_month_day ymd{d[i]};
    const PeriodReturn key{.year = static_cast<int>(ymd.year()),
                           .month = by_month ? static_cast<unsigned>(ymd.month()) : 0U};
    if (out.empty() || out.back().year != key.year || out.back().month != key.month) {
      out.push_back(key);
      out.back().value = 1;
    }
    out.back().value *= 1 + r[i];
  }
  for (auto& p : out) p.value -= 1;
  return out;
}

void best_worst(const std::vector<PeriodReturn>& p, double& best, double& worst) {
  if (p.empty()) return;
  const auto [lo, hi] = std::ranges::minmax_element(p, {}, &PeriodReturn::value);
  best = hi->value;
  worst = lo->value;
}

// Every metric of the finite returns `r` on dates `d`.
Metrics single(std::span<const Date> d, std::span<const double> r, const MetricsOptions& o) {
  Metrics m;
  const std::size_t n = r.size();
  m.days = n;
  m.drawdown = max_drawdown(d, r);
  if (n == 0) return m;
  const double ann = o.annualization;

  double wealth = 1;
  for (const double v : r) wealth *= 1 + v;
  m.cum_returns_final = wealth - 1;
  m.annual_return = std::pow(wealth, 1 / (static_cast<double>(n) / ann)) - 1;
  m.annual_volatility = sd(r) * std::sqrt(ann);
  m.sharpe_ratio = sharpe(r, o);

  const auto x = minus(r, o.risk_free);
  double down = 0;
  for (const double v : x) down += std::min(v, 0.0) * std::min(v, 0.0);
  m.downside_risk = std::sqrt(down / static_cast<double>(n)) * std::sqrt(ann);
  if (n >= 2) m.sortino_ratio = mean(x) * ann / m.downside_risk;

  if (m.drawdown.depth < 0) {
    const double c = m.annual_return / -m.drawdown.depth;
    m.calmar_ratio = std::isinf(c) ? kNaN : c;
  }
  if (n >= 2) {
    double gain = 0, loss = 0;
    for (const double v : x) {
      if (v > 0) gain += v;
      if (v < 0) loss -= v;
    }
    m.omega_ratio = loss > 0 ? gain / loss : kNaN;
  }

  std::vector<double> sorted(r.begin(), r.end());
  std::ranges::sort(sorted);
  m.tail_ratio = std::abs(percentile(sorted, 0.95)) / std::abs(percentile(sorted, 0.05));
  m.value_at_risk = percentile(sorted, 0.05);
  const auto cut = static_cast<std::size_t>(static_cast<double>(n - 1) * 0.05);
  m.conditional_value_at_risk = mean(std::span(sorted).first(cut + 1));
  m.stability_of_timeseries = stability(r);

  const Moments mo = moments(r);
  m.skew = skew_of(mo);
  m.kurtosis = kurtosis_of(mo);
  if (n >= 2) {
    const double sr = mean(x) / sd(x);
    const double s2 =
        (1 - m.skew * sr + (m.kurtosis + 2) / 4 * sr * sr) / static_cast<double>(n - 1);
    m.probabilistic_sharpe_ratio = 0.5 * std::erfc(-sr / std::sqrt(s2) / std::numbers::sqrt2);
  }

  std::size_t up = 0, downs = 0;
  double up_sum = 0, down_sum = 0;
  for (const double v : r) {
    if (v > 0) {
      ++up;
      up_sum += v;
    } else if (v < 0) {
      ++downs;
      down_sum += v;
    }
  }
  if (up + downs > 0) m.hit_rate = static_cast<double>(up) / static_cast<double>(up + downs);
  if (up > 0 && downs > 0) {
    m.payoff_ratio =
        (up_sum / static_cast<double>(up)) / std::abs(down_sum / static_cast<double>(downs));
  }
  // QuantStats: without a loss, inf; without a gain either, 0 (not 0 / 0).
  m.profit_factor = down_sum == 0 ? (up_sum == 0 ? 0.0 : std::numeric_limits<double>::infinity())
                                  : up_sum / -down_sum;
  m.best_day = sorted.back();
  m.worst_day = sorted.front();
  m.monthly = periods(d, r, true);
  m.yearly = periods(d, r, false);
  best_worst(m.monthly, m.best_month, m.worst_month);
  best_worst(m.yearly, m.best_year, m.worst_year);
  return m;
}

BenchmarkMetrics against(std::span<const double> r, std::span<const double> b,
                         const MetricsOptions& o) {
  BenchmarkMetrics out;
  std::vector<double> y, x;
  for (std::size_t i = 0; i < r.size(); ++i) {
    if (std::isnan(r[i]) || std::isnan(b[i])) continue;
    y.push_back(r[i]);
    x.push_back(b[i]);
  }
  const std::size_t n = y.size();
  out.days = n;
  if (n < 2) return out;
  const double xm = mean(x);
  double cov = 0, var = 0;
  for (std::size_t i = 0; i < n; ++i) {
    cov += (x[i] - xm) * y[i];  // centring one side is enough: mean(x - xm) is 0
    var += (x[i] - xm) * (x[i] - xm);
  }
  cov /= static_cast<double>(n);
  var /= static_cast<double>(n);
  out.beta = var < 1e-30 ? kNaN : cov / var;
  std::vector<double> resid(n), active(n);
  for (std::size_t i = 0; i < n; ++i) {
    resid[i] = (y[i] - o.risk_free) - out.beta * (x[i] - o.risk_free);
    active[i] = y[i] - x[i];
  }
  out.alpha = std::pow(1 + mean(resid), o.annualization) - 1;
  out.information_ratio = mean(active) / sd(active);
  return out;
}

core::Result<void> check_finite(std::span<const double> x, std::string_view what) {
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (std::isinf(x[i])) {
      return fail(ErrorCode::kInvalidArgument, fmt::format("{}[{}] is infinite", what, i));
    }
  }
  return {};
}

core::Result<void> check_options(const MetricsOptions& o) {
  if (!(o.annualization > 0) || std::isinf(o.annualization)) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("annualization {} is not a positive number", o.annualization));
  }
  if (!std::isfinite(o.risk_free)) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("risk_free {} is not a finite number", o.risk_free));
  }
  return {};
}

core::Result<Metrics> compute(std::span<const Date> dates, std::span<const double> returns,
                              const std::span<const double>* benchmark, const MetricsOptions& o) {
  if (auto ok = check_options(o); !ok) return std::unexpected(ok.error());
  if (dates.size() != returns.size()) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("{} dates for {} returns", dates.size(), returns.size()));
  }
  if (benchmark != nullptr && benchmark->size() != returns.size()) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("the benchmark has {} returns for {} dates (it must be aligned on the "
                            "returns' dates: align_returns)",
                            benchmark->size(), returns.size()));
  }
  for (std::size_t i = 1; i < dates.size(); ++i) {
    if (dates[i] <= dates[i - 1]) {
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("dates must increase: dates[{}] {} is not after dates[{}] {}", i,
                              format_date(dates[i]), i - 1, format_date(dates[i - 1])));
    }
  }
  if (auto ok = check_finite(returns, "returns"); !ok) return std::unexpected(ok.error());
  if (benchmark != nullptr) {
    if (auto ok = check_finite(*benchmark, "benchmark"); !ok) return std::unexpected(ok.error());
  }

  std::vector<Date> d;
  std::vector<double> r;
  for (std::size_t i = 0; i < returns.size(); ++i) {
    if (std::isnan(returns[i])) continue;
    d.push_back(dates[i]);
    r.push_back(returns[i]);
  }
  Metrics m = single(d, r, o);
  m.missing_days = returns.size() - r.size();
  if (benchmark != nullptr) m.benchmark = against(returns, *benchmark, o);
  return m;
}

}  // namespace

core::Result<Date> parse_date(std::string_view text) {
  const auto bad = [&] {
    return fail(ErrorCode::kParse, fmt::format("'{}' is not a date (YYYY-MM-DD)", text));
  };
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return bad();
  int v[3] = {0, 0, 0};
  const std::size_t at[3][2] = {{0, 4}, {5, 7}, {8, 10}};
  for (int k = 0; k < 3; ++k) {
    for (std::size_t i = at[k][0]; i < at[k][1]; ++i) {
      if (text[i] < '0' || text[i] > '9') return bad();
      v[k] = v[k] * 10 + (text[i] - '0');
    }
  }
  const chr::year_month_day ymd{chr::year(v[0]), chr::month(static_cast<unsigned>(v[1])),
                                chr::day(static_cast<unsigned>(v[2]))};
  if (!ymd.ok()) return bad();
  return chr::sys_days(ymd);
}

std::string format_date(Date date) {
  const chr::year_month_day ymd{date};
  return fmt::format("{:04}-{:02}-{:02}", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
}

core::Result<Metrics> compute_metrics(std::span<const Date> dates, std::span<const double> returns,
                                      const MetricsOptions& options) {
  return compute(dates, returns, nullptr, options);
}

core::Result<Metrics> compute_metrics(std::span<const Date> dates, std::span<const double> returns,
                                      std::span<const double> benchmark,
                                      const MetricsOptions& options) {
  return compute(dates, returns, &benchmark, options);
}

namespace {

// f over each window's returns without their NaNs, aligned on the input (NaN before the first
// whole window).
template <class F>
core::Result<std::vector<double>> rolling(std::span<const double> returns, std::size_t window,
                                          const MetricsOptions& options, F f) {
  if (auto ok = check_options(options); !ok) return std::unexpected(ok.error());
  if (window < 2) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("a rolling window of {} days: it needs at least 2", window));
  }
  if (auto ok = check_finite(returns, "returns"); !ok) return std::unexpected(ok.error());
  std::vector<double> out(returns.size(), kNaN);
  std::vector<double> w;
  for (std::size_t i = window - 1; i < returns.size(); ++i) {
    w.clear();
    for (std::size_t j = i + 1 - window; j <= i; ++j) {
      if (!std::isnan(returns[j])) w.push_back(returns[j]);
    }
    out[i] = f(w);
  }
  return out;
}

}  // namespace

core::Result<std::vector<double>> rolling_sharpe(std::span<const double> returns,
                                                 std::size_t window,
                                                 const MetricsOptions& options) {
  return rolling(returns, window, options,
                 [&](const std::vector<double>& w) { return sharpe(w, options); });
}

core::Result<std::vector<double>> rolling_volatility(std::span<const double> returns,
                                                     std::size_t window,
                                                     const MetricsOptions& options) {
  return rolling(returns, window, options, [&](const std::vector<double>& w) {
    return w.size() < 2 ? kNaN : sd(w) * std::sqrt(options.annualization);
  });
}

}  // namespace nautilus::analytics
