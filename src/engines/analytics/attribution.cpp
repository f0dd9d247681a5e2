#include "nautilus/engines/analytics/attribution.hpp"

namespace nautilus::analytics {

Attribution attribute(const std::vector<std::string>& factors, const Exposures& exposures,
                      const FactorSeries& factor_returns,
                      const std::map<DayNumber, double>& portfolio_returns) {
  const std::size_t k = factors.size();
  Attribution a{.factors = factors, .total = std::vector<double>(k, 0.0)};
  for (const auto& [day, r] : portfolio_returns) {
    const auto f = factor_returns.find(day);
    if (f == factor_returns.end() || f->second.size() < k) continue;
    auto x = exposures.lower_bound(day);  // the first at or after `day`: the one before is held
    if (x == exposures.begin()) continue;
    --x;
    if (x->second.size() < k) continue;
    AttributionDay d{.date = day, .portfolio_return = r, .contributions = std::vector<double>(k)};
    double explained = 0;
    for (std::size_t i = 0; i < k; ++i) {
      d.contributions[i] = x->second[i] * f->second[i];
      explained += d.contributions[i];
      a.total[i] += d.contributions[i];
    }
    d.residual = r - explained;
    a.portfolio += r;
    a.residual += d.residual;
    a.days.push_back(std::move(d));
  }
  return a;
}

}  // namespace nautilus::analytics
