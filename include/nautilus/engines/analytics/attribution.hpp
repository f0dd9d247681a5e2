// Factor attribution of the account's daily returns: the part of each date's return a factor
// model explains, from the portfolio's exposure to each factor at the previous date's close
// (what was held overnight) times the factor's return on the date, and the residual that is
// left. Sums are arithmetic over the dates attributed (no compounding), as Barra-style
// attribution reports add daily contributions.
//
//   analytics::Exposures x;            // per date: the portfolio's exposure to each factor
//   x[d] = {1.0, 0.4, -0.2, 0.1};      // market, mom, sze, val at the close of date d
//   auto a = analytics::attribute({"market", "mom", "sze", "val"}, x, factor_returns, returns);
//   a.total[1];                        // what momentum contributed, summed over the dates
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace nautilus::analytics {

using DayNumber = std::int64_t;                                 // days since 1970-01-01 (UTC)
using Exposures = std::map<DayNumber, std::vector<double>>;     // per date, one per factor
using FactorSeries = std::map<DayNumber, std::vector<double>>;  // per date, one per factor

struct AttributionDay {
  DayNumber date = 0;
  double portfolio_return = 0;
  std::vector<double> contributions;  // one per factor
  double residual = 0;                // the return less the contributions
};

struct Attribution {
  std::vector<std::string> factors;
  std::vector<double> total;  // each factor's contributions summed over the dates
  double portfolio = 0;       // the returns summed over the same dates
  double residual = 0;        // portfolio - sum of total
  std::vector<AttributionDay> days;
};

// A date is attributed when it has a portfolio return, factor returns, and exposures from an
// earlier date (the latest one before it). Vectors shorter than `factors` are skipped.
[[nodiscard]] Attribution attribute(const std::vector<std::string>& factors,
                                    const Exposures& exposures, const FactorSeries& factor_returns,
                                    const std::map<DayNumber, double>& portfolio_returns);

}  // namespace nautilus::analytics
