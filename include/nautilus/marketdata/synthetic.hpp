// A seeded synthetic market: per symbol a GBM price with jumps, a U-shaped intraday volume
// profile, bid/ask spreads, and informed-flow episodes (one-sided aggressor flow with drift)
// whose ground truth is kept, so VPIN alerts can later be checked against them.
// The random streams are mt19937_64 with hand-written normal/Poisson draws, so the output
// is the same on every standard library.
//
//   marketdata::SyntheticGenerator g({.seed = 7, .days = 1});
//   std::vector<marketdata::Record> minute;
//   while (g.next_minute(minute)) { ... trades, quotes, then the 1-minute bars ... }
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "nautilus/marketdata/csv.hpp"

namespace nautilus::marketdata {

struct SyntheticOptions {
  std::uint64_t seed = 42;
  std::vector<std::string> symbols;                   // empty: 20 default tickers
  core::UnixNanos start = 1'767'623'400'000'000'000;  // 2026-01-05 14:30 UTC (09:30 New York)
  int days = 21;                                      // trading days, weekends skipped
  int minutes_per_day = 390;
  double annual_volatility = 0.25;  // scaled per symbol between 0.6x and 1.6x
  double jumps_per_day = 0.5;
  double jump_stdev = 0.015;
  double trades_per_minute = 2.0;  // session mean, before the U-shape
  double episodes_per_day = 0.25;  // informed-flow episodes per symbol per day
  int episode_minutes = 30;
  double spread_bps = 2.0;
  bool quotes = false;  // emit a QuoteTick before every trade
};

struct InformedEpisode {
  std::string symbol;
  core::UnixNanos start = 0;
  core::UnixNanos end = 0;
  int direction = 0;  // +1 buying, -1 selling
};

class SyntheticGenerator {
 public:
  explicit SyntheticGenerator(SyntheticOptions options);

  // Fills `out` (cleared first) with one minute of every symbol, in time order; false when
  // the configured days are done.
  bool next_minute(std::vector<Record>& out);
  [[nodiscard]] const std::vector<InformedEpisode>& episodes() const noexcept { return episodes_; }
  [[nodiscard]] const std::vector<std::string>& symbols() const noexcept { return names_; }

 private:
  struct SymbolState {
    core::Symbol symbol;
    double price;
    double sigma_minute;
    double session_volume = 0;
    int episode_left = 0;  // minutes
    int episode_direction = 0;
  };
  double uniform();
  double normal();
  int poisson(double lambda);

  SyntheticOptions o_;
  std::mt19937_64 rng_;
  std::vector<SymbolState> state_;
  std::vector<std::string> names_;
  std::vector<InformedEpisode> episodes_;
  int day_ = 0;
  int minute_ = 0;
  core::UnixNanos day_start_ = 0;
  std::uint64_t trade_id_ = 0;
};

// Writes `days` of the generator's output as CSV files (gzip when the name ends in .gz):
// bars to `bars_path`, trades to `trades_path` (empty: not written).
[[nodiscard]] core::Result<std::size_t> write_sample(const SyntheticOptions& options,
                                                     const std::string& bars_path,
                                                     const std::string& trades_path);

}  // namespace nautilus::marketdata
