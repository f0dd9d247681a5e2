#!/usr/bin/python3
"""Independent check of the research universe (`nautilus sample --universe`), for
tests/unit/marketdata/universe_test.cpp. Written from toraniko 1.1.0's definitions
(toraniko/styles.py, math.py and model.py at github.com/0xfdf/toraniko, tag v1.1.0), not from
the C++ generator.

    /usr/bin/python3 universe_check.py DIR [--min-corr 0.9] [--min-sector-corr 0.6]

DIR holds what `nautilus sample --universe --out DIR` wrote. The checks, each printed; the exit
status is 1 when one fails:

  1. exposures: toraniko's size, value and momentum scores recomputed with numpy from the rows
     of universe.csv.gz of the trading day before each written day equal truth_exposures.csv.gz
     within 1e-9:
       sze: -log(market_cap), standardized (sd with ddof 1), scores strictly between the 20th
            and 80th percentile ("nearest": the sorted value at index round((n-1)q)) set to 0;
       val: log(book_price), log(sales_price), cf_price, each standardized; their mean,
            standardized;
       mom: prod(1 + r w) - 1 over the 504 returns ending 20 rows earlier, w = 2^(-age/126),
            clipped to numpy's 1st and 99th percentiles, standardized;
  2. point in time: on written days, market_cap = shares_outstanding (the reference row with the
     latest as_of <= the date) x the bar's close, and the ratios are book value, sales and
     operating cash flow over market_cap (relative 1e-8: the file rounds to 10 digits and caps
     to the dollar);
  3. recovery: per date, least squares of the returns on market + sectors (summing to zero, as
     toraniko constrains them) + the true exposures; the correlation over dates of each
     estimated factor return with truth_factor_returns.csv is at least --min-corr for market
     and the styles, --min-sector-corr for each sector.
"""
import argparse
import bisect
import csv
import gc
import gzip
import math
import sys
from collections import defaultdict

import numpy as np

WINDOW, HALF_LIFE, LAG = 504, 126, 20


def standardize(v):
    return (v - v.mean()) / v.std(ddof=1)


def size_scores(cap):
    z = standardize(-np.log(cap))
    srt = np.sort(z)
    last = len(z) - 1
    lo = srt[int(math.floor(last * 0.2 + 0.5))]
    hi = srt[int(math.floor(last * 0.8 + 0.5))]
    return np.where((z <= lo) | (z >= hi), z, 0.0)


def value_scores(bp, sp, cfp):
    mean = (standardize(np.log(bp)) + standardize(np.log(sp)) + standardize(cfp)) / 3.0
    return standardize(mean)


def momentum_scores(window):
    """window: WINDOW x symbols lagged returns, oldest first."""
    w = np.exp(-math.log(2) / HALF_LIFE * np.arange(WINDOW))[::-1]
    raw = np.prod(1.0 + window * w[:, None], axis=0) - 1.0
    lo, hi = np.percentile(raw, 1.0), np.percentile(raw, 99.0)
    return standardize(np.clip(raw, lo, hi))


def read_gz_rows(path, quoted=False):
    with gzip.open(path, "rt", newline="") as f:
        text = f.read()
    if quoted:
        rows = list(csv.reader(text.splitlines()))
    else:
        rows = [line.split(",") for line in text.splitlines()]
    return rows[0], rows[1:]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--min-corr", type=float, default=0.9)
    ap.add_argument("--min-sector-corr", type=float, default=0.6)
    a = ap.parse_args()
    gc.disable()  # millions of small lists and no cycles: the collector would only slow parsing
    failures = []

    header, rows = read_gz_rows(f"{a.dir}/universe.csv.gz")
    assert header == ["date", "symbol", "return", "market_cap", "sector", "book_price",
                      "sales_price", "cf_price"], header
    by_date = defaultdict(list)
    for r in rows:
        by_date[r[0]].append(r)
    dates = sorted(by_date)
    symbols = sorted(r[1] for r in by_date[dates[0]])
    n, t_all = len(symbols), len(dates)
    col = {s: i for i, s in enumerate(symbols)}
    ret = np.empty((t_all, n))
    cap, bp, sp, cfp = (np.empty((t_all, n)) for _ in range(4))
    sector_of = {}
    for t, d in enumerate(dates):
        day = by_date[d]
        if len(day) != n:
            failures.append(f"{d}: {len(day)} rows, want {n}")
            continue
        for r in day:
            i = col[r[1]]
            ret[t, i], cap[t, i] = float(r[2]), float(r[3])
            bp[t, i], sp[t, i], cfp[t, i] = float(r[5]), float(r[6]), float(r[7])
            sector_of[r[1]] = r[4]

    header, rows = read_gz_rows(f"{a.dir}/truth_exposures.csv.gz")
    assert header == ["date", "symbol", "mom", "sze", "val"], header
    truth_dates = sorted({r[0] for r in rows})
    first = dates.index(truth_dates[0])
    if first < WINDOW + LAG:
        failures.append(f"the first written day {truth_dates[0]} has only {first} days of history")
    tx = np.full((len(truth_dates), n, 3), np.nan)
    tpos = {d: k for k, d in enumerate(truth_dates)}
    for r in rows:
        tx[tpos[r[0]], col[r[1]]] = [float(r[2]), float(r[3]), float(r[4])]

    # 1. The exposures of day t from the rows of day t-1.
    worst = {"mom": 0.0, "sze": 0.0, "val": 0.0}
    for k, d in enumerate(truth_dates):
        t = first + k
        p = t - 1
        mom = momentum_scores(ret[p - WINDOW - LAG + 1: p - LAG + 1])
        sze = size_scores(cap[p])
        val = value_scores(bp[p], sp[p], cfp[p])
        for name, mine, j in (("mom", mom, 0), ("sze", sze, 1), ("val", val, 2)):
            worst[name] = max(worst[name], float(np.max(np.abs(mine - tx[k, :, j]))))
    for name, w in worst.items():
        print(f"exposures {name}: max |recomputed - truth| = {w:.3g}")
        if not w <= 1e-9:
            failures.append(f"{name} exposures differ from truth_exposures by {w:.3g}")

    # 2. Market caps and ratios from the reference data and the bars.
    header, rows = read_gz_rows(f"{a.dir}/reference.csv.gz", quoted=True)
    assert header == ["as_of", "symbol", "sector", "industry", "shares_outstanding",
                      "book_value", "sales", "operating_cash_flow"], header
    reference = defaultdict(list)
    for r in rows:
        reference[r[1]].append((r[0][:10], float(r[4]), float(r[5]), float(r[6]), float(r[7]),
                                r[2]))
    for v in reference.values():
        v.sort()
    as_of = {s: [x[0] for x in v] for s, v in reference.items()}
    header, rows = read_gz_rows(f"{a.dir}/daily_bars.csv.gz")
    close = {(r[0][:10], r[1]): float(r[5]) for r in rows}
    worst_rel = 0.0
    for k, d in enumerate(truth_dates):
        t = first + k
        for s, i in col.items():
            recs = reference[s]
            j = bisect.bisect_right(as_of[s], d) - 1
            if j < 0:
                failures.append(f"{d} {s}: no reference row known")
                continue
            _, shares, book, sales, cash, sector = recs[j]
            if sector != sector_of[s]:
                failures.append(f"{s}: sector {sector_of[s]} in universe.csv.gz, {sector} in reference")
            c = shares * close[(d, s)]
            for mine, theirs in ((c, cap[t, i]), (book / c, bp[t, i]), (sales / c, sp[t, i]),
                                 (cash / c, cfp[t, i])):
                worst_rel = max(worst_rel, abs(mine - theirs) / max(abs(mine), 1e-300))
    print(f"point in time: max relative difference of caps and ratios = {worst_rel:.3g}")
    if not worst_rel <= 1e-8:
        failures.append(f"market caps or ratios differ from reference x close by {worst_rel:.3g}")

    # 3. Recovery of the factor returns.
    with open(f"{a.dir}/truth_factor_returns.csv", newline="") as f:
        reader = csv.reader(f)
        names = next(reader)[1:]
        truth = {r[0]: np.array([float(x) for x in r[1:]]) for r in reader}
    sectors = names[1:-3]
    m = len(sectors)
    dummies = np.zeros((n, m))
    for s, i in col.items():
        dummies[i, sectors.index(sector_of[s])] = 1.0
    # toraniko's change of variables: the last sector is minus the sum of the others.
    r_sector = np.vstack([np.identity(m), np.concatenate([[0.0], -np.ones(m - 1)])])
    b_sector = np.hstack([np.ones((n, 1)), dummies]) @ r_sector
    est, tru = [], []
    for k, d in enumerate(truth_dates):
        t = first + k
        x = np.hstack([b_sector, tx[k]])
        coef, *_ = np.linalg.lstsq(x, ret[t], rcond=None)
        est.append(np.concatenate([r_sector @ coef[:m], coef[m:]]))
        tru.append(truth[d])
    est, tru = np.array(est), np.array(tru)
    for j, name in enumerate(names):
        c = float(np.corrcoef(est[:, j], tru[:, j])[0, 1])
        want = a.min_sector_corr if name in sectors else a.min_corr
        print(f"recovery {name}: correlation {c:.4f} (want >= {want})")
        if not c >= want:
            failures.append(f"{name}: correlation of estimated and true returns {c:.4f} < {want}")

    for f in failures[:20]:
        print("FAIL:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
