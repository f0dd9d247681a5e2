"""The anchor of `nautilus bench backtest`: the mean-reversion moving-average strategy of the
platform's strategy engine (strategy = "mean_reversion"), vectorized the way a pandas user
writes it, over the same bars CSV.

Per symbol: the rolling mean and sample standard deviation of the last `lookback` closes, the
z-score of the close; long at z <= -entry_z, short at z >= entry_z, flat at |z| <= exit_z,
otherwise the previous position (forward-filled); a position of floor(notional / close) units;
filled at the next bar's close (as the engine fills a market order), less fee_bps of each
traded notional. Timed from reading
the CSV to the total P&L, as the engine's figure is timed from opening the file to its report.

    /usr/bin/python3 ma_pandas.py BARS.csv LOOKBACK ENTRY_Z EXIT_Z NOTIONAL FEE_BPS [--runs N]

Prints one JSON object: seconds (the median), bars, pnl.
"""
import json
import statistics
import sys
import time

import numpy as np
import pandas as pd


def run(path, lookback, entry_z, exit_z, notional, fee_bps):
    bars = pd.read_csv(path, usecols=["ts", "symbol", "close"])
    closes = bars.pivot(index="ts", columns="symbol", values="close")
    mean = closes.rolling(lookback).mean()
    sd = closes.rolling(lookback).std(ddof=1)
    z = (closes - mean) / sd
    direction = pd.DataFrame(np.nan, index=closes.index, columns=closes.columns)
    direction[z <= -entry_z] = 1.0
    direction[z >= entry_z] = -1.0
    direction[z.abs() <= exit_z] = 0.0
    direction = direction.ffill().fillna(0.0)
    units = direction * np.floor(notional / closes)
    # Decided on bar t's close, filled at bar t+1's close (as the engine's paper execution
    # fills a market order with fill_on = bars): held from t+1, so it earns from t+2 on.
    pnl = (units.shift(2) * closes.diff()).sum().sum()
    traded = (units.diff().abs() * closes.shift(-1)).sum().sum()
    return len(bars), float(pnl - traded * fee_bps / 1e4)


def main():
    args = sys.argv[1:]
    runs = 1
    if "--runs" in args:
        i = args.index("--runs")
        runs = int(args[i + 1])
        del args[i : i + 2]
    path, lookback, entry_z, exit_z, notional, fee_bps = args
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        n, pnl = run(path, int(lookback), float(entry_z), float(exit_z), float(notional),
                     float(fee_bps))
        times.append(time.perf_counter() - t0)
    print(json.dumps({"seconds": statistics.median(times), "bars": n, "pnl": pnl,
                      "pandas": pd.__version__, "numpy": np.__version__}))


if __name__ == "__main__":
    main()
