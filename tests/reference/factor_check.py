#!/usr/bin/python3
"""Independent check of the factor engine's style exposures (`nautilus compute factor`), written
with numpy from the model's definition, not from the C++.

    /usr/bin/python3 factor_check.py BARS_CSV_GZ REFERENCE_CSV_GZ EXPOSURES_CSV
                                     [--tol 1e-9] [--winsor 0.01] [--write-reference OUT]

BARS_CSV_GZ (`ts,symbol,open,high,low,close,volume,interval_s`, one bar per symbol and day; a
bar's date is ts[:10]) and REFERENCE_CSV_GZ (`as_of,symbol,sector,industry,shares_outstanding,
book_value,sales,operating_cash_flow`, point-in-time filings) are a research universe, e.g.
data/universe/. EXPOSURES_CSV (`date,symbol,momentum,value,size,volatility,liquidity`, an empty
cell for an undefined exposure; gzipped when its name ends in .gz) is what the engine wrote.

The record known at a bar is the symbol's filing with the latest as_of <= the bar's ts (as
instants, a date being 00:00:00 UTC of that day; of filings with equal as_of, the last in the
file). Per symbol, over its own bars in time order, r_k = close_k / close_{k-1} - 1 (k >= 1), and
at bar t, the raw styles:

  momentum:   prod(1 + r_j, j = t-251 .. t-21) - 1 (231 returns); from t = 252;
  value:      book_value / market_cap, market_cap = shares_outstanding x close_t;
  size:       log(market_cap);
  volatility: std (ddof 1) of r_{t-62} .. r_t, x sqrt(252); from t = 63;
  liquidity:  log(sum of volume_k / shares_outstanding_k, k = t-20 .. t), shares from the record
              known at bar k; from t = 20, when all 21 bars have a record and the sum is > 0.

value, size and liquidity need a known record; a raw value that is not finite (a market cap
<= 0, say) is undefined too. Then per date and style, over the symbols where the raw style is
defined: clipped to numpy.percentile(x, 100 winsor) and numpy.percentile(x, 100 (1 - winsor))
(linear), standardized (x - mean) / std (ddof 1); all zeros when fewer than 2 values or a std of
0. Undefined stays undefined.

The checks, each printed; the exit status is 1 when one fails:

  1. rows: EXPOSURES_CSV has the header above and exactly one row per symbol and date with a
     bar, no other, ordered by date then symbol;
  2. cells: every cell is undefined where the recomputed exposure is, and within --tol
     (absolute) of it elsewhere; per style the worst difference and the counts are printed.

--write-reference OUT writes the recomputed exposures in the engine's format (shortest
round-trip numbers) to OUT before checking: a self-test of this script.
"""
import argparse
import gc
import gzip
import math
import os
import re
import sys
import time

import numpy as np

sys.dont_write_bytecode = True  # no __pycache__ left in tests/reference
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from universe_check import read_gz_rows  # noqa: E402

STYLES = ("momentum", "value", "size", "volatility", "liquidity")
MOM_END, MOM_LEN = 21, 231          # returns t-251 .. t-21
VOL_LEN, LIQ_LEN = 63, 21
ANNUAL = math.sqrt(252.0)

_TZ = re.compile(r"(Z|[+-]\d\d:?\d\d)$")


def parse_instant(s, cache={}):
    """An ISO-8601 date or timestamp as int64 nanoseconds since the epoch, UTC."""
    v = cache.get(s)
    if v is not None:
        return v
    text = s.strip().replace(" ", "T")
    offset = 0
    m = _TZ.search(text) if len(text) > 10 else None
    if m:
        tz = m.group(1)
        text = text[: m.start()]
        if tz != "Z":
            tz = tz.replace(":", "")
            sign = 1 if tz[0] == "+" else -1
            offset = sign * (int(tz[1:3]) * 3600 + int(tz[3:5]) * 60) * 10**9
    v = int(np.datetime64(text, "ns").astype(np.int64)) - offset
    cache[s] = v
    return v


def to_float(x):
    return float(x) if x.strip() else math.nan


def load_reference(path):
    header, rows = read_gz_rows(path, quoted=True)
    want = ["as_of", "symbol", "sector", "industry", "shares_outstanding", "book_value",
            "sales", "operating_cash_flow"]
    if header != want:
        sys.exit(f"{path}: header {header}, want {want}")
    by_symbol = {}
    for r in rows:
        if not r:
            continue
        by_symbol.setdefault(r[1], []).append((parse_instant(r[0]), to_float(r[4]),
                                               to_float(r[5])))
    out = {}
    for s, recs in by_symbol.items():
        as_of = np.array([x[0] for x in recs], dtype=np.int64)
        order = np.argsort(as_of, kind="stable")
        out[s] = (as_of[order], np.array([x[1] for x in recs])[order],
                  np.array([x[2] for x in recs])[order])
    return out


def load_bars(path):
    header, rows = read_gz_rows(path)
    want = ["ts", "symbol", "open", "high", "low", "close", "volume", "interval_s"]
    if header != want:
        sys.exit(f"{path}: header {header}, want {want}")
    by_symbol = {}
    for r in rows:
        if len(r) < 8:
            continue
        by_symbol.setdefault(r[1], []).append((parse_instant(r[0]), r[0][:10], float(r[5]),
                                               float(r[6])))
    return by_symbol


def sliding(x, n):
    return np.lib.stride_tricks.sliding_window_view(x, n)


def raw_styles(bars, ref):
    """bars: [(ts_ns, date, close, volume)] of one symbol; ref: its (as_of, shares, book) or None.
    Returns the dates in time order and a len x 5 array of raw styles (NaN: undefined)."""
    bars = sorted(bars, key=lambda b: b[0])
    n = len(bars)
    ts = np.array([b[0] for b in bars], dtype=np.int64)
    close = np.array([b[2] for b in bars])
    volume = np.array([b[3] for b in bars])
    raw = np.full((n, len(STYLES)), np.nan)
    ret = close[1:] / close[:-1] - 1.0                   # r_k, k = 1 .. n-1, at index k-1
    gross = 1.0 + ret
    if n > MOM_END + MOM_LEN:                            # t >= 252
        prod = np.prod(sliding(gross, MOM_LEN), axis=1)  # window i: r_{i+1} .. r_{i+231}
        raw[MOM_END + MOM_LEN:, 0] = prod[: n - MOM_END - MOM_LEN] - 1.0
    if n > VOL_LEN:                                      # t >= 63
        raw[VOL_LEN:, 3] = np.std(sliding(ret, VOL_LEN), axis=1, ddof=1) * ANNUAL
    if ref is not None:
        as_of, shares_all, book_all = ref
        k = np.searchsorted(as_of, ts, side="right") - 1
        known = k >= 0
        kk = np.where(known, k, 0)
        shares = np.where(known, shares_all[kk], np.nan)
        book = np.where(known, book_all[kk], np.nan)
        with np.errstate(all="ignore"):
            cap = shares * close
            raw[:, 1] = book / cap
            raw[:, 2] = np.log(np.where(cap > 0, cap, np.nan))
            if n >= LIQ_LEN:                             # t >= 20
                total = np.sum(sliding(volume / shares, LIQ_LEN), axis=1)
                raw[LIQ_LEN - 1:, 4] = np.log(np.where(total > 0, total, np.nan))
    raw[~np.isfinite(raw)] = np.nan
    return [b[1] for b in bars], raw


def cross_section(x, winsor):
    """x: values of one style on one date, NaN undefined."""
    out = np.full_like(x, np.nan)
    defined = ~np.isnan(x)
    v = x[defined]
    if len(v) == 0:
        return out
    lo, hi = np.percentile(v, winsor * 100.0), np.percentile(v, (1.0 - winsor) * 100.0)
    v = np.clip(v, lo, hi)
    sd = v.std(ddof=1) if len(v) >= 2 else 0.0
    out[defined] = (v - v.mean()) / sd if sd > 0 else 0.0
    return out


def fmt(v):
    return "" if math.isnan(v) else repr(float(v))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("bars")
    ap.add_argument("reference")
    ap.add_argument("exposures")
    ap.add_argument("--tol", type=float, default=1e-9)
    ap.add_argument("--winsor", type=float, default=0.01)
    ap.add_argument("--write-reference", metavar="OUT")
    a = ap.parse_args()
    if not 0.0 <= a.winsor < 0.5:
        sys.exit("--winsor must be in [0, 0.5)")
    gc.disable()  # millions of small tuples and no cycles: the collector would only slow parsing
    start = time.time()
    failures = []

    # The recomputed exposures, a dates x symbols x styles panel.
    reference = load_reference(a.reference)
    bars = load_bars(a.bars)
    symbols = sorted(bars)
    col = {s: i for i, s in enumerate(symbols)}
    per_symbol = {s: raw_styles(bars[s], reference.get(s)) for s in symbols}
    del bars
    dates = sorted({d for ds, _ in per_symbol.values() for d in ds})
    row = {d: t for t, d in enumerate(dates)}
    panel = np.full((len(dates), len(symbols), len(STYLES)), np.nan)
    has_bar = np.zeros((len(dates), len(symbols)), dtype=bool)
    for s, (ds, raw) in per_symbol.items():
        t = np.array([row[d] for d in ds], dtype=np.int64)
        if len(np.unique(t)) != len(t):
            failures.append(f"{s}: more than one bar on a date in {a.bars}")
        has_bar[t, col[s]] = True
        panel[t, col[s]] = raw
    raw_count = [int(np.sum(~np.isnan(panel[:, :, j]))) for j in range(len(STYLES))]
    for t in range(len(dates)):
        for j in range(len(STYLES)):
            panel[t, :, j] = cross_section(panel[t, :, j], a.winsor)
    print(f"recomputed {len(symbols)} symbols x {len(dates)} dates, {int(has_bar.sum())} bars "
          f"({time.time() - start:.1f} s)")

    if a.write_reference:
        opener = gzip.open if a.write_reference.endswith(".gz") else open
        with opener(a.write_reference, "wt", newline="") as f:
            f.write("date,symbol," + ",".join(STYLES) + "\n")
            for t, d in enumerate(dates):
                for i in np.nonzero(has_bar[t])[0]:
                    f.write(f"{d},{symbols[i]}," + ",".join(fmt(v) for v in panel[t, i]) + "\n")
        print(f"wrote the recomputed exposures to {a.write_reference}")

    # 1. Rows.
    opener = gzip.open if a.exposures.endswith(".gz") else open
    with opener(a.exposures, "rt", newline="") as f:
        lines = f.read().splitlines()
    header = lines[0].split(",") if lines else []
    want = ["date", "symbol"] + list(STYLES)
    if header != want:
        print(f"FAIL: {a.exposures}: header {header}, want {want}")
        return 1
    cells = [line.split(",") for line in lines[1:] if line]
    bad = [k for k, c in enumerate(cells) if len(c) != len(want)]
    if bad:
        failures.append(f"{len(bad)} rows without {len(want)} cells, the first: "
                        f"{lines[1 + bad[0]]!r}")
        cells = [c for c in cells if len(c) == len(want)]
    t_idx = np.array([row.get(c[0], -1) for c in cells], dtype=np.int64)
    s_idx = np.array([col.get(c[1], -1) for c in cells], dtype=np.int64)
    unknown = (t_idx < 0) | (s_idx < 0)
    known_t, known_s = t_idx[~unknown], s_idx[~unknown]
    unknown_bar = ~has_bar[known_t, known_s]
    seen = np.zeros_like(has_bar)
    seen[known_t[~unknown_bar], known_s[~unknown_bar]] = True
    key = t_idx * len(symbols) + s_idx
    extra = int(unknown.sum() + unknown_bar.sum())
    missing = int((has_bar & ~seen).sum())
    duplicate = int(len(known_t[~unknown_bar]) - seen.sum())
    ordered = bool(np.all(np.diff(key) > 0)) if not unknown.any() else None
    print(f"rows: {len(cells)} written, {int(has_bar.sum())} expected; {missing} missing, "
          f"{extra} without a bar, {duplicate} duplicated; "
          f"ordered by date then symbol: {ordered}")
    if missing or extra or duplicate:
        ex = []
        if missing:
            t, i = np.argwhere(has_bar & ~seen)[0]
            ex.append(f"missing e.g. {dates[t]},{symbols[i]}")
        if extra:
            k = int(np.nonzero(unknown)[0][0]) if unknown.any() else \
                int(np.nonzero(~unknown)[0][np.nonzero(unknown_bar)[0][0]])
            ex.append(f"without a bar e.g. {cells[k][0]},{cells[k][1]}")
        failures.append(f"the rows of {a.exposures} differ from the (date, symbol) pairs of the "
                        f"bars ({'; '.join(ex) or 'duplicates'})")
    elif not ordered:
        k = int(np.nonzero(np.diff(key) <= 0)[0][0])
        failures.append(f"rows not ordered by date then symbol at data row {k + 2}")

    # 2. Cells.
    theirs = np.full_like(panel, np.nan)
    ok_rows = ~unknown
    ok_rows[ok_rows] = ~unknown_bar
    nonfinite = 0
    unparsable = []
    for j, name in enumerate(STYLES):
        vals = np.empty(len(cells))
        for k, c in enumerate(cells):
            x = c[2 + j]
            if x:
                try:
                    vals[k] = float(x)
                except ValueError:
                    unparsable.append(f"{c[0]},{c[1]},{name}: {x!r}")
                    vals[k] = math.nan
                    continue
                if not math.isfinite(vals[k]):
                    nonfinite += 1
                    vals[k] = math.inf  # shown as inf below; never within tol of ours
            else:
                vals[k] = math.nan
        theirs[t_idx[ok_rows], s_idx[ok_rows], j] = vals[ok_rows]
    if unparsable:
        failures.append(f"{len(unparsable)} cells are not numbers, the first {unparsable[0]}")
    if nonfinite:
        failures.append(f"{nonfinite} cells are written as non-finite numbers (undefined is an "
                        "empty cell)")
    compare = has_bar & seen
    for j, name in enumerate(STYLES):
        mine, other = panel[:, :, j][compare], theirs[:, :, j][compare]
        m_nan, o_nan = np.isnan(mine), np.isnan(other)
        both = ~m_nan & ~o_nan
        with np.errstate(invalid="ignore"):
            diff = np.abs(mine[both] - other[both])
        worst = float(diff.max()) if diff.size else 0.0
        if diff.size and np.isnan(diff).any():
            worst = math.inf
        over = int(np.sum(~(diff <= a.tol)))
        nan_mismatch = int(np.sum(m_nan != o_nan))
        print(f"{name}: {int((~m_nan).sum())} defined here ({raw_count[j]} raw), "
              f"{int((~o_nan).sum())} written; worst |difference| {worst:.3g}; "
              f"{over} beyond tol {a.tol:g}; {nan_mismatch} defined on one side only")
        if over or nan_mismatch:
            bad_cell = np.zeros(len(mine), dtype=bool)
            bad_cell[np.nonzero(both)[0][~(diff <= a.tol)]] = True
            bad_cell |= m_nan != o_nan
            t, i = np.argwhere(compare)[np.nonzero(bad_cell)[0][0]]
            failures.append(f"{name}: {over} cells beyond tol {a.tol:g} (worst {worst:.3g}), "
                            f"{nan_mismatch} undefined on one side only; e.g. {dates[t]} "
                            f"{symbols[i]}: recomputed {fmt(panel[t, i, j]) or 'undefined'}, "
                            f"written {fmt(theirs[t, i, j]) or 'undefined'}")
        else:
            print(f"OK: {name}")

    print(f"({time.time() - start:.1f} s)")
    for f in failures[:20]:
        print("FAIL:", f)
    if not failures:
        print("OK: every row and cell of", a.exposures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
