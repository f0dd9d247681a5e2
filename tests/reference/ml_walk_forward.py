#!/usr/bin/python3
"""Independent reference for `nautilus compute ml` (tests/integration/cli_test.cpp): the same
walk-forward, written from its documented rules, with scikit-learn fitting every window.

    PYTHONPATH=/opt/nautilus-deps/python/usr/lib/python3/dist-packages \\
        /usr/bin/python3 ml_walk_forward.py FEATURES.csv --features rsi14,log_return \\
        --model ridge --horizon 5 --window 500 --min-train 100 --retrain-every 50 \\
        --alpha 1 --C 1 --symbols AAPL,MSFT > OUT.csv

The rules, per symbol and in row order (rows are bars):
- a sample is taken at a bar whose features are all present; its target is the sum of the log
  returns of the next `horizon` bars (logistic: 1 if that sum is > 0, else 0), dropped when one
  of them is missing, and known at the bar `horizon` later;
- at each bar, the targets that bar makes known join the window first (the oldest leave it
  beyond `window`); then, when the window holds at least `min_train` samples and there is no
  model yet or `retrain_every` samples joined since the last training, a model is fitted on the
  window (Ridge(alpha), or LogisticRegression(C) with newton-cholesky as ml_reference.py);
- then the bar is predicted with the model, if there is one: x.w + b, and for logistic also
  the probability.
Prints ts,symbol,value,probability,target for the rows of the chosen symbols, in file order.
"""
import argparse
import csv
import math
import sys

import numpy as np


def num(s):
    s = s.strip()
    if s in ("", "NA", "NaN", "nan"):
        return math.nan
    return float(s)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("features_csv")
    ap.add_argument("--features", required=True)
    ap.add_argument("--returns", default="log_return")
    ap.add_argument("--model", choices=["ridge", "logistic"], required=True)
    ap.add_argument("--horizon", type=int, default=5)
    ap.add_argument("--window", type=int, default=500)
    ap.add_argument("--min-train", type=int, default=100)
    ap.add_argument("--retrain-every", type=int, default=50)
    ap.add_argument("--alpha", type=float, default=1.0)
    ap.add_argument("--C", type=float, default=1.0)
    ap.add_argument("--symbols", required=True)
    a = ap.parse_args()
    from sklearn.linear_model import LogisticRegression, Ridge

    names = a.features.split(",")
    wanted = set(a.symbols.split(","))
    rows = []  # [ts, symbol, x, log_return]
    with open(a.features_csv, newline="") as f:
        r = csv.reader(f)
        header = next(r)
        col = {n: i for i, n in enumerate(header)}
        for cells in r:
            if cells[col["symbol"]] not in wanted:
                continue
            rows.append((cells[col["ts"]], cells[col["symbol"]],
                         [num(cells[col[n]]) for n in names], num(cells[col[a.returns]])))

    out = [[math.nan, math.nan, math.nan] for _ in rows]  # value, probability, target
    by_symbol = {}
    for i, row in enumerate(rows):
        by_symbol.setdefault(row[1], []).append(i)
    h = a.horizon
    for idx in by_symbol.values():
        xs = [rows[i][2] for i in idx]
        rets = [rows[i][3] for i in idx]
        n = len(idx)
        taken = [all(math.isfinite(v) for v in x) for x in xs]
        # target of the sample at bar k, known at bar k + h
        target = [None] * n
        for k in range(n):
            if taken[k] and k + h < n:
                s = sum(rets[k + 1:k + h + 1])
                if math.isfinite(s):
                    target[k] = (1.0 if s > 0 else 0.0) if a.model == "logistic" else s
        window = []
        fresh = 0
        model = None
        for b in range(n):
            k = b - h
            if k >= 0 and target[k] is not None:
                out[idx[k]][2] = target[k]
                window.append(k)
                fresh += 1
                if len(window) > a.window:
                    window.pop(0)
            if not taken[b]:
                continue
            if len(window) >= min(a.min_train, a.window) and (model is None or
                                                             fresh >= a.retrain_every):
                fresh = 0
                x = np.array([xs[j] for j in window])
                y = np.array([target[j] for j in window])
                if a.model == "ridge":
                    model = Ridge(alpha=a.alpha, fit_intercept=True, solver="cholesky").fit(x, y)
                elif len(set(y)) == 2:
                    model = LogisticRegression(penalty="l2", C=a.C, fit_intercept=True,
                                               solver="newton-cholesky", tol=1e-14,
                                               max_iter=1000).fit(x, y.astype(int))
            if model is not None:
                x = np.array([xs[b]])
                if a.model == "ridge":
                    out[idx[b]][0] = float(model.predict(x)[0])
                else:
                    out[idx[b]][0] = float(model.decision_function(x)[0])
                    out[idx[b]][1] = float(model.predict_proba(x)[0][1])

    w = csv.writer(sys.stdout, lineterminator="\n")
    w.writerow(["ts", "symbol", "value", "probability", "target"])
    for row, (v, p, t) in zip(rows, out):
        w.writerow([row[0], row[1]] + ["" if math.isnan(z) else repr(z) for z in (v, p, t)])
    return 0


if __name__ == "__main__":
    sys.exit(main())
