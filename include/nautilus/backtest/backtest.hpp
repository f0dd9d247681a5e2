// A backtest: the platform's own engines (the hub replaying history, features, VPIN, ml,
// strategy, risk, portfolio with paper execution, collateral, analytics) on one thread on a
// simulated clock (the deterministic EngineHost), and a report of what they did: every
// analytics metric of the daily marked-to-market equity, the equity, exposure and trades, the
// orders by outcome, the rolling Sharpe ratio and volatility, and a chosen symbol's bars, fills
// and VPIN. Nothing else decides a fill or a price: the same data and settings give the same
// report, byte for byte.
//
//   auto spec = backtest::load_spec("strategy.toml", {"data/sample/bars.csv"});
//   if (!spec) return spec.error();                       // names the file, line, setting
//   auto report = backtest::run_backtest(*spec, [](const backtest::Progress& p) { ... });
//   write(out_dir / "report.json", report->json);         // docs/BACKTESTING.md has its keys
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "nautilus/core/clock.hpp"
#include "nautilus/core/error.hpp"
#include "nautilus/engine/engine.hpp"

namespace nautilus::backtest {

// The engines a backtest runs when its config names none: the whole loop of `nautilus run`,
// without the factor engines (their research universe is a separate, daily data set).
[[nodiscard]] const std::vector<std::string>& default_engines();

struct BacktestSpec {
  std::string config_path;                              // for the report; may be empty
  std::vector<std::string> data;                        // the files the hub replays (CSV, .csv.gz)
  std::vector<std::string> engines;                     // in the order the host runs them
  std::map<std::string, engine::EngineConfig> configs;  // [engines.<name>]
  std::string benchmark;     // a symbol of the data whose daily closes are the benchmark; "" none
  std::string chart_symbol;  // whose bars, fills and VPIN the report carries; "" the first of a bar
  std::size_t rolling_window = 63;  // days, for the rolling Sharpe ratio and volatility
};

// The spec of a TOML file: a [backtest] table (data, engines, benchmark, chart_symbol,
// rolling_window) and [engines.<name>] tables as `nautilus run --config` reads them. `data`,
// when not empty, replaces the file's. Errors name the file and the key (a syntax error its line
// and column); every engine's settings are checked against its declaration here, before
// anything runs, and an engine that is not in this build is refused by name.
[[nodiscard]] core::Result<BacktestSpec> load_spec(const std::string& config_path,
                                                   const std::vector<std::string>& data);
// The same from TOML text (`origin` names it in errors).
[[nodiscard]] core::Result<BacktestSpec> load_spec_text(std::string_view toml_text,
                                                        std::string_view origin,
                                                        const std::vector<std::string>& data);

struct Progress {
  std::uint64_t events = 0;       // messages published on the bus so far
  core::UnixNanos data_time = 0;  // the simulated clock
  core::UnixNanos start = 0;      // where the data begins
  core::UnixNanos end = 0;        // where it ends, when the files say (0: unknown, e.g. gzip)
  double wall_s = 0;
  bool done = false;  // the last call
};
using ProgressFn = std::function<void(const Progress&)>;

struct BacktestReport {
  std::string json;  // the report, one JSON object (docs/BACKTESTING.md), ending in a newline
  std::uint64_t events = 0;
  std::uint64_t fills = 0;
  std::uint64_t days = 0;
  double final_nav = 0;
  double sharpe_ratio = 0;
  std::map<std::string, double> metrics;  // the report's numeric metrics, by name
  double wall_s = 0;
  std::vector<std::string> warnings;  // the report's: asked-for symbols the data never had
};

// Runs the backtest to the end of its data. `progress` (optional) is called about once a second
// of wall time and at the end. Errors: kInvalidArgument for an engine that does not start (a
// setting it refuses, a file it cannot open: its message) or no data to start the clock from;
// another code for a run that fails on the way (a data row that cannot be read, by file, line
// and column); kClosed ("cancelled") when `cancel` (optional) became true, checked after each due
// time.
[[nodiscard]] core::Result<BacktestReport> run_backtest(const BacktestSpec& spec,
                                                        const ProgressFn& progress = {},
                                                        const std::atomic<bool>* cancel = nullptr);

}  // namespace nautilus::backtest
