// The JSON form of Metrics (`nautilus compute analytics`, and later the engine's REST answers):
// one flat object with a key per metric, named after empyrical's function where it has one
// (cum_returns_final, annual_return, ..., alpha, beta) and QuantStats' otherwise, plus the
// drawdown's dates and the monthly and yearly tables. Write it with core::to_json_text, which
// writes NaN and infinities as null.
//
//   std::string text = core::to_json_text(analytics::to_json(*metrics));
//   // {"days":756,"missing_days":0,"cum_returns_final":0.41,...,"max_drawdown":-0.18,
//   //  "max_drawdown_peak":"2022-01-03",...,"monthly_returns":[{"year":2021,"month":1,
//   //  "return":0.012},...],"yearly_returns":[{"year":2021,"return":0.2},...]}
//
// Without a benchmark the keys benchmark_days, alpha, beta and information_ratio are absent.
#pragma once

#include <boost/json/object.hpp>

#include "nautilus/engines/analytics/metrics.hpp"

namespace nautilus::analytics {

[[nodiscard]] boost::json::object to_json(const Metrics& m);

}  // namespace nautilus::analytics
