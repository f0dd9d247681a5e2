// A research universe for factor models: daily bars of about 500 symbols over three years,
// generated from a market + sector + style factor model whose ground truth (factor returns,
// exposures) is written beside the data, so a factor engine can be checked against it.
//
//   r[i,t] = market[t] + sector[s(i),t] + sum_k style_k[t] * x[i,k,t-1] + eps[i,t]
//
// The styles are momentum, size and value with exposures x computed from the data written, the
// way toraniko 1.1.0 (github.com/0xfdf/toraniko) computes its scores, with the toraniko
// engine's own style code (factor_core/styles.hpp). Fundamentals change quarterly and are
// written as point-in-time reference rows (reference.hpp). The random streams are mt19937_64 with
// hand-written normal draws, as in synthetic.hpp, so a seed gives the same universe on every
// standard library. docs/MARKET_DATA.md ("The research universe") and the README.md written beside
// the files describe the files and the model.
//
//   auto written = marketdata::write_universe({.seed = 42}, "data/universe");
//   if (!written) fmt::print(stderr, "{}\n", written.error().message);
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "nautilus/core/error.hpp"
#include "nautilus/factor_core/styles.hpp"

namespace nautilus::marketdata {

// Days generated before the first written day, so momentum is defined from that day on.
inline constexpr int kUniverseBurnIn = factor_core::kMomentumHistory;

struct UniverseOptions {
  std::uint64_t seed = 42;
  int symbols = 500;                 // 33 to 5000 (at least three per sector)
  int days = 756;                    // written trading days (weekends skipped), 1 to 10000
  std::string start = "2023-01-03";  // the first written day (moved on to a weekday)
  // Annual magnitudes of the model (volatility is the standard deviation of the daily value
  // times sqrt(252); drift is the daily mean times 252).
  double market_drift = 0.07;
  double market_volatility = 0.16;
  double sector_volatility = 0.08;
  double momentum_volatility = 0.05;
  double size_volatility = 0.05;
  double value_volatility = 0.05;
  double idiosyncratic_min = 0.25;  // each symbol's idiosyncratic volatility is drawn in
  double idiosyncratic_max = 0.35;  // [min, max]
};

struct UniverseSummary {
  std::size_t symbols = 0;
  std::size_t days = 0;            // written
  std::string first_day;           // YYYY-MM-DD, the first written day
  std::string last_day;            //
  std::string first_history_day;   // the first row of universe.csv.gz (burn-in included)
  std::vector<std::string> files;  // names written in the directory
};

// Writes daily_bars.csv.gz, reference.csv.gz, universe.csv.gz, truth_factor_returns.csv,
// truth_exposures.csv.gz and README.md into `dir` (created if missing).
[[nodiscard]] core::Result<UniverseSummary> write_universe(const UniverseOptions& options,
                                                           const std::string& dir);

// The 11 sectors, in the alphabetical order of truth_factor_returns.csv's columns.
[[nodiscard]] const std::vector<std::string>& gics_sectors();

}  // namespace nautilus::marketdata
