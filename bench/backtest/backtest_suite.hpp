// `nautilus bench backtest`: backtests end to end (backtest/backtest.hpp, sweep.hpp).
//   backtest.bars_per_s: minute bars of a generated market (a CSV on disk, random walks of
//     `symbols` symbols over `days` days) through marketdata -> features -> strategy (the
//     built-in mean_reversion, a moving-average z-score) -> risk -> portfolio on the
//     deterministic host, one thread, timed from opening the file to the report; median of the
//     runs. Anchor: the same strategy over the same CSV vectorized in pandas and numpy
//     (bench/backtest/ma_pandas.py, /usr/bin/python3), timed from read_csv to the P&L;
//     backtest.ratio_vs_numpy is ours over its bars per second.
//   backtest.sweep_scaling: a four-point grid (backtest/sweep.hpp) with one worker, then with
//     two: the first wall time over the second (2.0 is perfect on two cores).
//   backtest.rss_mb: a year of minute bars for 500 symbols (49M bars, a 2.5 GB CSV written
//     first) through `nautilus backtest` in a child process (this binary): its peak resident
//     set (wait4's ru_maxrss). Minutes; 20 symbols over 2 days in --quick.
//   backtest.rss_growth_pct: 100 consecutive small backtests in this process (20 in --quick);
//     the resident set after the last over that after the 10th (the 5th), in percent.
#pragma once

#include "../common/report.hpp"

namespace nautilus::bench {

void run_backtest_suite(const SuiteOptions& options);

}  // namespace nautilus::bench
