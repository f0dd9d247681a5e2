#include "nautilus/engines/analytics/metrics_json.hpp"

#include <boost/json.hpp>

namespace nautilus::analytics {
namespace {

boost::json::value date_or_null(const std::optional<Date>& d) {
  if (!d) return nullptr;
  return boost::json::value(format_date(*d));
}

}  // namespace

boost::json::object to_json(const Metrics& m) {
  boost::json::object o;
  o["days"] = m.days;
  o["missing_days"] = m.missing_days;
  o["cum_returns_final"] = m.cum_returns_final;
  o["annual_return"] = m.annual_return;
  o["annual_volatility"] = m.annual_volatility;
  o["sharpe_ratio"] = m.sharpe_ratio;
  o["sortino_ratio"] = m.sortino_ratio;
  o["downside_risk"] = m.downside_risk;
  o["max_drawdown"] = m.drawdown.depth;
  o["max_drawdown_peak"] = date_or_null(m.drawdown.peak);
  o["max_drawdown_trough"] = date_or_null(m.drawdown.trough);
  o["max_drawdown_recovery"] = date_or_null(m.drawdown.recovery);
  o["max_drawdown_days"] = m.drawdown.duration_days;
  o["calmar_ratio"] = m.calmar_ratio;
  o["omega_ratio"] = m.omega_ratio;
  o["tail_ratio"] = m.tail_ratio;
  o["stability_of_timeseries"] = m.stability_of_timeseries;
  o["skew"] = m.skew;
  o["kurtosis"] = m.kurtosis;
  o["value_at_risk"] = m.value_at_risk;
  o["conditional_value_at_risk"] = m.conditional_value_at_risk;
  o["probabilistic_sharpe_ratio"] = m.probabilistic_sharpe_ratio;
  o["hit_rate"] = m.hit_rate;
  o["payoff_ratio"] = m.payoff_ratio;
  o["profit_factor"] = m.profit_factor;
  o["best_day"] = m.best_day;
  o["worst_day"] = m.worst_day;
  o["best_month"] = m.best_month;
  o["worst_month"] = m.worst_month;
  o["best_year"] = m.best_year;
  o["worst_year"] = m.worst_year;
  if (m.benchmark) {
    o["benchmark_days"] = m.benchmark->days;
    o["alpha"] = m.benchmark->alpha;
    o["beta"] = m.benchmark->beta;
    o["information_ratio"] = m.benchmark->information_ratio;
  }
  boost::json::array months, years;
  for (const auto& p : m.monthly) {
    months.push_back(
        boost::json::object{{"year", p.year}, {"month", p.month}, {"return", p.value}});
  }
  for (const auto& p : m.yearly) {
    years.push_back(boost::json::object{{"year", p.year}, {"return", p.value}});
  }
  o["monthly_returns"] = std::move(months);
  o["yearly_returns"] = std::move(years);
  return o;
}

}  // namespace nautilus::analytics
