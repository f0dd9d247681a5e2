#!/usr/bin/python3
"""Independent check of `nautilus compute toraniko` (the toraniko engine's FactorModel over a
universe file). Recomputes the factor returns and residuals with numpy from the universe file,
written from toraniko 1.1.0's definitions (toraniko/model.py `_factor_returns`, math.py
`winsorize`, styles.py; github.com/0xfdf/toraniko, tag v1.1.0), not from the C++, and reusing
universe_check.py's style scores.

    /usr/bin/python3 toraniko_check.py UNIVERSE_CSV_GZ OUT_DIR [--tol 1e-9] [--winsor 0.05]
                                       [--no-residualize]

UNIVERSE_CSV_GZ: gzip long table `date,symbol,return,market_cap,sector,book_price,sales_price,
cf_price` (e.g. data/universe/universe.csv.gz). OUT_DIR: what `nautilus compute toraniko
--universe UNIVERSE_CSV_GZ --out OUT_DIR` wrote, factor_returns.csv (`date,market,<sectors
sorted>,mom,sze,val`, one row per fitted date, ascending) and residuals.csv (`date,symbol,
residual`, grouped by date, symbols sorted within a date).

The model recomputed:
  * per symbol, its rows in date order (a row with an empty or NaN cell is left out, as the C++
    reader does); per date p, over that date's rows: sze = size_scores(market_cap),
    val = value_scores(book_price, sales_price, cf_price), and mom = momentum_scores of the 504
    returns of the symbol's rows p-523 .. p-20 (oldest first), over the symbols that have at
    least 524 rows up to p (universe_check.py says what each score is);
  * date t is fitted on the return of row t and on the market cap, sector and mom, sze, val
    scores of the symbol's previous row; an asset without a previous row or without all three
    previous scores is left out; the date is fitted only with at least (sectors present) + 3 + 1
    assets;
  * per fitted date, toraniko's `_factor_returns` after `winsorize(returns, --winsor)`:
    W = diag(sqrt(cap)); market + sectors by weighted least squares with the sector returns
    constrained to sum to zero (change of variables R_sector), the styles by weighted least
    squares on the sector residual returns (on the returns with --no-residualize), residual =
    sector residual - styles x style returns; np.diag and np.linalg.lstsq(rcond=None) as
    toraniko uses them.

Every value of both files must equal the recomputed one within --tol (absolute); the set of
fitted dates and each date's symbols must be the same. The worst difference per column group
is printed; the exit status is 1 when anything fails.
"""
import argparse
import csv
import gc
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import universe_check as uc  # noqa: E402

HEADER = ["date", "symbol", "return", "market_cap", "sector", "book_price", "sales_price",
          "cf_price"]
STYLES = ["mom", "sze", "val"]
HISTORY = uc.WINDOW + uc.LAG  # rows a symbol needs up to and including p for a momentum score


def winsorize(r, p):
    """toraniko.math.winsorize of one vector: clip to numpy's (linear) nan-percentiles p, 1-p."""
    finite = np.where(np.isfinite(r), r, np.nan)
    lo = np.nanpercentile(finite, p * 100)
    hi = np.nanpercentile(finite, (1 - p) * 100)
    return np.clip(r, lo, hi)


def factor_returns(r, cap, dummies, styles, residualize):
    """One date of toraniko's `_factor_returns`: (market, sectors..., styles...), residuals."""
    n, m = dummies.shape
    W = np.diag(np.sqrt(cap))
    # Market + sectors with the sectors summing to zero: the last sector is minus the sum of
    # the others, a change of variables B = [1, dummies] @ R.
    R = np.vstack([np.identity(m), np.concatenate([[0.0], -np.ones(m - 1)])])
    B = np.hstack([np.ones((n, 1)), dummies]) @ R
    V, *_ = np.linalg.lstsq(B.T @ W @ B, B.T @ W, rcond=None)
    g = V @ r
    sector_ret = R @ g
    sector_resid = r - B @ g
    Vs, *_ = np.linalg.lstsq(styles.T @ W @ styles, styles.T @ W, rcond=None)
    style_ret = Vs @ (sector_resid if residualize else r)
    return np.concatenate([sector_ret, style_ret]), sector_resid - styles @ style_ret


def load_universe(path):
    """The universe file's columns, rows sorted by (symbol, date), and per-row positions."""
    header, rows = uc.read_gz_rows(path)
    if header != HEADER:
        raise SystemExit(f"{path}: header {header}, want {HEADER}")
    bad = [k for k, r in enumerate(rows) if len(r) != len(HEADER)]
    if bad:
        raise SystemExit(f"{path}: line {bad[0] + 2} has {len(rows[bad[0]])} cells, want 8")
    cols = list(zip(*rows))
    del rows
    n_file = len(cols[0])

    def numbers(c):
        if "" in c:
            c = ["nan" if x == "" else x for x in c]
        return np.array(c, dtype=np.float64)

    num = {name: numbers(cols[HEADER.index(name)])
           for name in ("return", "market_cap", "book_price", "sales_price", "cf_price")}
    dates, d_idx = np.unique(np.array(cols[0]), return_inverse=True)
    symbols, s_idx = np.unique(np.array(cols[1]), return_inverse=True)
    sector_col = np.array(cols[4])
    del cols
    if np.any(sector_col == ""):
        raise SystemExit(f"{path}: an empty sector")
    sectors, sec_idx = np.unique(sector_col, return_inverse=True)
    key = s_idx.astype(np.int64) * len(dates) + d_idx
    if len(np.unique(key)) != n_file:
        raise SystemExit(f"{path}: a date and symbol seen twice")
    # A row with a missing cell is left out of its date (as the C++ reader does).
    keep = np.ones(n_file, dtype=bool)
    for v in num.values():
        keep &= ~np.isnan(v)
    missing = int(n_file - keep.sum())
    order = np.flatnonzero(keep)[np.lexsort((d_idx[keep], s_idx[keep]))]
    u = {name: v[order] for name, v in num.items()}
    u["date"], u["symbol"], u["sector"] = d_idx[order], s_idx[order], sec_idx[order]
    # Position of each row among its symbol's rows.
    n = len(order)
    starts = np.flatnonzero(np.r_[True, np.diff(u["symbol"]) != 0])
    counts = np.diff(np.r_[starts, n])
    u["pos"] = np.arange(n) - np.repeat(starts, counts)
    # The rows of each date, symbols ascending: by_date[bounds[p]:bounds[p + 1]].
    by_date = np.lexsort((u["symbol"], u["date"]))
    bounds = np.searchsorted(u["date"][by_date], np.arange(len(dates) + 1))
    return dates, symbols, sectors, u, by_date, bounds, n_file, missing


def compute(path, winsor=0.05, residualize=True):
    """{date: factor returns}, {date: (symbols, residuals)}, factor names, summary."""
    dates, symbols, sectors, u, by_date, bounds, n_file, missing = load_universe(path)
    n, m = len(u["pos"]), len(sectors)
    mom, sze, val = (np.full(n, np.nan) for _ in range(3))
    offsets = np.arange(-(HISTORY - 1), -uc.LAG + 1)  # rows p-523 .. p-20
    assert len(offsets) == uc.WINDOW
    with np.errstate(invalid="ignore", divide="ignore"):
        for p in range(len(dates)):
            rows = by_date[bounds[p]:bounds[p + 1]]
            if len(rows) == 0:
                continue
            sze[rows] = uc.size_scores(u["market_cap"][rows])
            val[rows] = uc.value_scores(u["book_price"][rows], u["sales_price"][rows],
                                        u["cf_price"][rows])
            have = rows[u["pos"][rows] >= HISTORY - 1]
            if len(have):
                mom[have] = uc.momentum_scores(u["return"][have[None, :] + offsets[:, None]])
    scores = np.column_stack([mom, sze, val])
    scored = np.all(np.isfinite(scores), axis=1)

    factors, residuals = {}, {}
    skipped = 0
    for t in range(len(dates)):
        rows = by_date[bounds[t]:bounds[t + 1]]
        rows = rows[u["pos"][rows] >= 1]
        rows = rows[scored[rows - 1]]
        prev = rows - 1
        present = len(np.unique(u["sector"][prev]))
        if len(rows) == 0 or len(rows) < present + len(STYLES) + 1:
            skipped += 1
            continue
        r = u["return"][rows]
        if winsor is not None:
            r = winsorize(r, winsor)
        dummies = np.zeros((len(rows), m))
        dummies[np.arange(len(rows)), u["sector"][prev]] = 1.0
        f, e = factor_returns(r, u["market_cap"][prev], dummies, scores[prev], residualize)
        factors[dates[t]] = f
        residuals[dates[t]] = (symbols[u["symbol"][rows]].tolist(), e)
    names = ["market"] + sectors.tolist() + STYLES
    summary = (f"{n_file} rows ({missing} with a missing cell left out), {len(symbols)} symbols, "
               f"{len(dates)} dates: {len(factors)} fitted, {skipped} not")
    return factors, residuals, names, summary


def read_factor_returns(path):
    with open(path, newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = [(r[0], np.array([float(x) for x in r[1:]])) for r in reader]
    return header, rows


def read_residuals(path):
    """[(date, [symbols], residuals)] in file order, one entry per run of equal dates."""
    with open(path, newline="") as f:
        lines = f.read().splitlines()
    header = lines[0].split(",")
    groups = []
    for line in lines[1:]:
        d, s, v = line.split(",")
        if not groups or groups[-1][0] != d:
            groups.append((d, [], []))
        groups[-1][1].append(s)
        groups[-1][2].append(float(v))
    return header, [(d, s, np.array(v)) for d, s, v in groups]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("universe")
    ap.add_argument("out_dir")
    ap.add_argument("--tol", type=float, default=1e-9)
    ap.add_argument("--winsor", type=float, default=0.05,
                    help="winsorization proportion of the returns; 0: none")
    ap.add_argument("--no-residualize", action="store_true")
    a = ap.parse_args()
    gc.disable()  # millions of small lists and no cycles: the collector would only slow parsing
    failures = []

    factors, residuals, names, summary = compute(
        a.universe, a.winsor if a.winsor > 0 else None, not a.no_residualize)
    print(f"recomputed: {summary}")

    # factor_returns.csv
    header, rows = read_factor_returns(os.path.join(a.out_dir, "factor_returns.csv"))
    if header != ["date"] + names:
        failures.append(f"factor_returns.csv header {header}, want {['date'] + names}")
    theirs_dates = [d for d, _ in rows]
    if theirs_dates != sorted(set(theirs_dates)):
        failures.append("factor_returns.csv: dates not strictly ascending")
    mine_dates = sorted(factors)
    print(f"dates: {len(theirs_dates)} in factor_returns.csv, {len(mine_dates)} recomputed"
          + (f" ({mine_dates[0]} .. {mine_dates[-1]})" if mine_dates else ""))
    if set(theirs_dates) != set(mine_dates):
        extra = sorted(set(theirs_dates) - set(mine_dates))
        lacking = sorted(set(mine_dates) - set(theirs_dates))
        failures.append(f"fitted dates differ: {len(extra)} not recomputed (first {extra[:3]}), "
                        f"{len(lacking)} missing (first {lacking[:3]})")
    m = len(names) - 1 - len(STYLES)
    groups = {"market": [0], "sectors": list(range(1, 1 + m))}
    groups.update({s: [1 + m + j] for j, s in enumerate(STYLES)})
    worst = {g: (0.0, "") for g in groups}
    for d, v in rows:
        if d not in factors:
            continue
        if len(v) != len(names):
            failures.append(f"factor_returns.csv {d}: {len(v)} values, want {len(names)}")
            continue
        diff = np.abs(v - factors[d])
        diff[np.isnan(diff)] = np.inf
        for g, js in groups.items():
            j = js[int(np.argmax(diff[js]))]
            if diff[j] > worst[g][0] or (worst[g][1] == "" and diff[j] == 0):
                worst[g] = (float(diff[j]), f"{d} {names[j]}")
    for g, (w, where) in worst.items():
        print(f"factor returns {g}: max |C++ - recomputed| = {w:.3g}"
              + (f" ({where})" if where else ""))
        if not w <= a.tol:
            failures.append(f"factor returns {g} differ by {w:.3g} at {where}")

    # residuals.csv
    header, groups_r = read_residuals(os.path.join(a.out_dir, "residuals.csv"))
    if header != ["date", "symbol", "residual"]:
        failures.append(f"residuals.csv header {header}")
    r_dates = [d for d, _, _ in groups_r]
    if len(r_dates) != len(set(r_dates)):
        failures.append("residuals.csv: the rows of a date are not together")
    if set(r_dates) != set(mine_dates):
        failures.append(f"residuals.csv has {len(set(r_dates))} dates, "
                        f"{len(set(r_dates) ^ set(mine_dates))} differing from the recomputed")
    worst_r, where_r, n_resid = 0.0, "", 0
    for d, syms, v in groups_r:
        if d not in residuals:
            continue
        my_syms, my_e = residuals[d]
        if syms != my_syms:
            if sorted(set(syms)) == my_syms:
                failures.append(f"residuals.csv {d}: symbols not sorted (or repeated)")
            else:
                failures.append(f"residuals.csv {d}: {len(syms)} symbols, {len(my_syms)} "
                                f"recomputed, {len(set(syms) ^ set(my_syms))} differing")
            continue
        diff = np.abs(v - my_e)
        diff[np.isnan(diff)] = np.inf
        n_resid += len(diff)
        i = int(np.argmax(diff))
        if diff[i] > worst_r or where_r == "":
            worst_r, where_r = float(diff[i]), f"{d} {syms[i]}"
    print(f"residuals: {n_resid} compared, max |C++ - recomputed| = {worst_r:.3g}"
          + (f" ({where_r})" if where_r else ""))
    if not worst_r <= a.tol:
        failures.append(f"residuals differ by {worst_r:.3g} at {where_r}")

    for f in failures[:20]:
        print("FAIL:", f)
    if len(failures) > 20:
        print(f"FAIL: ... and {len(failures) - 20} more")
    print("OK" if not failures else f"{len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
