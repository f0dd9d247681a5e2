#!/usr/bin/python3
"""Independent reference for the analytics metrics (tests/unit/analytics/metrics_test.cpp):
empyrical 0.5.5's formulas, QuantStats' where empyrical has none, and Bailey & Lopez de Prado's
probabilistic Sharpe ratio, written with numpy and scipy (scipy for linregress, skew, kurtosis
and the normal CDF). Debian's pandas is not installed here, so months and years are grouped
with numpy's datetime64.

    PYTHONPATH=/opt/nautilus-deps/python/usr/lib/python3/dist-packages \\
        /usr/bin/python3 analytics_reference.py SERIES.csv [--risk-free RF] \\
        [--annualization 252] [--window 63]

SERIES.csv: a header `date,return` or `date,return,benchmark`, one day a row, dates YYYY-MM-DD
increasing; an empty cell is NaN. A NaN return leaves its day out of everything, a NaN
benchmark return leaves its day out of alpha, beta and the information ratio (the convention
metrics.hpp states). Prints one JSON object: every metric under its metrics.hpp name, a
non-finite value as the string "nan", "inf" or "-inf", dates as "YYYY-MM-DD" or null.
"""
import argparse
import csv
import json
import math
import sys

import numpy as np
from scipy import stats


def load(path):
    dates, ret, bench = [], [], []
    with open(path, newline="") as f:
        rows = csv.DictReader(f)
        has_bench = "benchmark" in rows.fieldnames
        for row in rows:
            dates.append(np.datetime64(row["date"], "D"))
            ret.append(float(row["return"]) if row["return"] else np.nan)
            if has_bench:
                bench.append(float(row["benchmark"]) if row["benchmark"] else np.nan)
    return (np.array(dates, dtype="datetime64[D]"), np.array(ret, dtype=float),
            np.array(bench, dtype=float) if has_bench else None)


def num(v):
    v = float(v)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return v


def day(d):
    return None if d is None else str(d)


def sharpe(x, rf, ann):
    if len(x) < 2:
        return np.nan
    adj = x - rf
    return np.mean(adj) / np.std(adj, ddof=1) * np.sqrt(ann)


def drawdown(d, x):
    """empyrical's max_drawdown (wealth 100 before the first day), and where it lies."""
    n = len(x)
    if n == 0:
        return {"depth": "nan", "peak": None, "trough": None, "recovery": None,
                "duration_days": 0}
    wealth = np.empty(n + 1)
    wealth[0] = 100
    wealth[1:] = 100 * np.cumprod(1 + x)  # index k is after day k - 1; 0 is the start
    high = np.fmax.accumulate(wealth)
    dd = (wealth - high) / high
    t = int(np.argmin(dd))
    out = {"depth": num(dd.min()), "peak": None, "trough": None, "recovery": None,
           "duration_days": 0}
    if dd[t] == 0:
        return out
    p = int(np.flatnonzero(wealth[:t + 1] == high[t])[-1])
    back = np.flatnonzero(wealth[t + 1:] >= high[t])
    r = t + 1 + int(back[0]) if len(back) else None
    out["trough"] = day(d[t - 1])
    out["peak"] = day(d[p - 1]) if p > 0 else None
    out["recovery"] = day(d[r - 1]) if r is not None else None
    first, last = p + 1, (r - 1 if r is not None else n)  # wealth indices under water
    out["duration_days"] = int((d[last - 1] - d[first - 1]).astype(int)) + 1
    return out


def grouped(d, x, unit):
    keys = d.astype(f"datetime64[{unit}]")
    out = []
    for k in np.unique(keys):
        v = np.prod(1 + x[keys == k]) - 1
        text = str(k)  # "2024-01" or "2024"
        year = int(text[:4])
        month = int(text[5:7]) if unit == "M" else 0
        out.append([year, month, float(v)])
    return out


def metrics(d, r, b, rf, ann, window):
    keep = ~np.isnan(r)
    d, x = d[keep], r[keep]
    n = len(x)
    m = {"days": n, "missing_days": int((~keep).sum())}
    cum = np.prod(1 + x) - 1 if n else np.nan
    m["cum_returns_final"] = cum
    m["annual_return"] = (cum + 1) ** (1 / (n / ann)) - 1 if n else np.nan
    m["annual_volatility"] = np.std(x, ddof=1) * ann ** 0.5 if n > 1 else np.nan
    m["sharpe_ratio"] = sharpe(x, rf, ann)
    adj = x - rf
    down = np.sqrt(np.mean(np.square(np.clip(adj, -np.inf, 0)))) * np.sqrt(ann) if n else np.nan
    m["downside_risk"] = down
    m["sortino_ratio"] = np.mean(adj) * ann / down if n > 1 else np.nan
    dd = drawdown(d, x)
    mdd = dd["depth"] if dd["depth"] != "nan" else np.nan
    calmar = np.nan
    if mdd < 0:
        calmar = m["annual_return"] / abs(mdd)
        calmar = np.nan if np.isinf(calmar) else calmar
    m["calmar_ratio"] = calmar
    if n > 1:
        gain, loss = adj[adj > 0].sum(), -adj[adj < 0].sum()
        m["omega_ratio"] = gain / loss if loss > 0 else np.nan
    else:
        m["omega_ratio"] = np.nan
    m["tail_ratio"] = (abs(np.percentile(x, 95)) / abs(np.percentile(x, 5))) if n else np.nan
    m["value_at_risk"] = np.percentile(x, 5) if n else np.nan
    if n:
        cut = int((n - 1) * 0.05)
        m["conditional_value_at_risk"] = np.mean(np.partition(x, cut)[:cut + 1])
    else:
        m["conditional_value_at_risk"] = np.nan
    if n > 1:
        m["stability_of_timeseries"] = stats.linregress(np.arange(n),
                                                        np.log1p(x).cumsum()).rvalue ** 2
    else:
        m["stability_of_timeseries"] = np.nan
    m["skew"] = stats.skew(x, bias=False) if n > 2 else np.nan
    m["kurtosis"] = stats.kurtosis(x, fisher=True, bias=False) if n > 3 else np.nan
    if n > 3:
        sr = np.mean(adj) / np.std(adj, ddof=1)
        g3 = stats.skew(x, bias=False)
        g4 = stats.kurtosis(x, fisher=False, bias=False)  # raw: 3 for a normal law
        s = math.sqrt((1 - g3 * sr + (g4 - 1) / 4 * sr ** 2) / (n - 1))
        m["probabilistic_sharpe_ratio"] = stats.norm.cdf(sr / s)
    else:
        m["probabilistic_sharpe_ratio"] = np.nan
    wins, losses = x[x > 0], x[x < 0]
    m["hit_rate"] = len(wins) / (len(wins) + len(losses)) if len(wins) + len(losses) else np.nan
    m["payoff_ratio"] = (wins.mean() / abs(losses.mean())) if len(wins) and len(losses) else np.nan
    gains, lost = x[x >= 0].sum(), abs(x[x < 0].sum())
    m["profit_factor"] = (gains / lost) if lost != 0 else (0.0 if gains == 0 else np.inf)
    m["best_day"] = x.max() if n else np.nan
    m["worst_day"] = x.min() if n else np.nan
    monthly, yearly = grouped(d, x, "M"), grouped(d, x, "Y")
    for name, table in (("month", monthly), ("year", yearly)):
        values = [v for _, _, v in table]
        m[f"best_{name}"] = max(values) if values else np.nan
        m[f"worst_{name}"] = min(values) if values else np.nan
    out = {k: (num(v) if not isinstance(v, int) else v) for k, v in m.items()}
    out["drawdown"] = dd
    out["monthly"] = monthly
    out["yearly"] = yearly

    out["benchmark"] = None
    if b is not None:
        both = ~np.isnan(r) & ~np.isnan(b)
        y, f = r[both], b[both]
        bm = {"days": int(both.sum()), "alpha": np.nan, "beta": np.nan,
              "information_ratio": np.nan}
        if len(y) > 1:
            var = np.var(f)  # ddof 0, as the covariance below
            beta = np.cov(y, f, bias=True)[0, 1] / var if var >= 1e-30 else np.nan
            bm["beta"] = beta
            bm["alpha"] = (1 + np.mean((y - rf) - beta * (f - rf))) ** ann - 1
            bm["information_ratio"] = np.mean(y - f) / np.std(y - f, ddof=1)
        out["benchmark"] = {k: (num(v) if k != "days" else v) for k, v in bm.items()}

    rolling = []
    for i in range(len(r)):
        w = r[max(0, i - window + 1):i + 1]
        w = w[~np.isnan(w)]
        rolling.append(num(sharpe(w, rf, ann) if i >= window - 1 else np.nan))
    out["rolling_sharpe"] = rolling
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("series")
    ap.add_argument("--risk-free", type=float, default=0.0)
    ap.add_argument("--annualization", type=float, default=252.0)
    ap.add_argument("--window", type=int, default=63)
    a = ap.parse_args()
    d, r, b = load(a.series)
    with np.errstate(all="ignore"):
        out = metrics(d, r, b, a.risk_free, a.annualization, a.window)
    json.dump(out, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
