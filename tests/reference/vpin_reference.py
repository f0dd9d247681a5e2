#!/usr/bin/python3
"""Independent reference for BVC-VPIN (Easley, López de Prado & O'Hara 2012, "Flow toxicity
and liquidity in a high-frequency world", RFS 25(5)), written from the paper's definitions,
for tests/unit/vpin/vpin_test.cpp.

    /usr/bin/python3 vpin_reference.py BARS.csv OUT.csv --bucket-volume V --window 50 \
        --dp close|within --sigma sample|rolling:N|fixed:X|file --cdf normal|t:DF \
        --vpin-cdf empirical|lognormal --cdf-history 1000 --min-history 50 --threshold 0.9

BARS.csv: a header, then open,close,volume,ts_close per bar. OUT.csv: one row per completed
bucket: index,ts,buy,sell,vpin,cdf,alert (NaN written as "nan").

The platform's conventions where the paper leaves a choice (nautilus/engines/vpin/*.hpp):
  - bars without volume are dropped before anything else;
  - dP of bar i is close_i - close_{i-1} ("close", the paper's) or close_i - open_i ("within");
    the first bar uses close - open;
  - sigma for bar i: "sample" is std(ddof=1) of dP[0..i], "rolling:N" of the last N dP up to i,
    "fixed:X" is X, "file" is std(ddof=1) of all dP (the paper's whole-sample sigma);
    z = 0.5 where sigma is NaN or 0;
  - z_i = Phi(dP_i / sigma_i), or the Student-t CDF with DF degrees of freedom;
  - buckets: cumulative volume C; bucket k holds the volume between kV and (k+1)V, each bar's
    part of it classified with the bar's z; a bucket's time is that of the bar at which C first
    reaches (k+1)V;
  - VPIN_k = sum_{j=k-n+1..k} |S_j - B_j| / (n V), NaN for k < n-1;
  - the CDF of VPIN_k: over W = the last H finite VPIN values up to and including VPIN_k (H=0:
    all); NaN while len(W) < min_history; empirical: mean(W <= VPIN_k); lognormal: the normal
    CDF of (ln VPIN_k - mean(ln W+)) / std(ln W+, ddof=1) over W+ = the positive values of W,
    NaN with fewer than two or zero spread, 0 when VPIN_k <= 0;
  - alert: the previous finite CDF < threshold <= this CDF.

Needs numpy. The Student-t CDF comes from scipy when it is installed, else from mpmath's
regularised incomplete beta (Debian 12's python3-scipy cannot be installed beside Boost 1.81).
"""
import argparse
import csv
import math
import sys

import numpy as np


def student_t_cdf_function(df):
    try:
        from scipy.stats import t as student_t
        return lambda x: float(student_t.cdf(x, df))
    except ImportError:
        import mpmath
        mpmath.mp.dps = 40

        def cdf(x):
            # F(x) = 1 - I_{df/(df+x^2)}(df/2, 1/2) / 2 for x >= 0, and symmetric.
            if x == 0:
                return 0.5
            xx = mpmath.mpf(x)
            tail = mpmath.betainc(mpmath.mpf(df) / 2, mpmath.mpf(1) / 2, 0,
                                  mpmath.mpf(df) / (df + xx * xx), regularized=True) / 2
            return float(1 - tail) if x > 0 else float(tail)
        return cdf


def normal_cdf(x):
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def read_bars(path):
    data = np.genfromtxt(path, delimiter=",", skip_header=1, dtype=np.float64, ndmin=2)
    ts = np.genfromtxt(path, delimiter=",", skip_header=1, dtype=np.int64, usecols=3, ndmin=1)
    keep = data[:, 2] > 0
    return data[keep, 0], data[keep, 1], data[keep, 2], ts[keep]


def price_changes(opens, closes, mode):
    if mode == "within":
        return closes - opens
    dp = np.empty_like(closes)
    dp[0] = closes[0] - opens[0]
    dp[1:] = np.diff(closes)
    return dp


def sigmas(dp, spec):
    n = len(dp)
    if spec == "file":
        return np.full(n, np.std(dp, ddof=1) if n > 1 else np.nan)
    if spec.startswith("fixed:"):
        return np.full(n, float(spec[6:]))
    window = None if spec == "sample" else int(spec.split(":")[1])
    out = np.full(n, np.nan)
    for i in range(n):
        lo = 0 if window is None else max(0, i + 1 - window)
        if i + 1 - lo >= 2:
            out[i] = np.std(dp[lo:i + 1], ddof=1)
    return out


def buy_fractions(dp, sigma, cdf_spec):
    cdf = normal_cdf if cdf_spec == "normal" else student_t_cdf_function(float(cdf_spec[2:]))
    z = np.full(len(dp), 0.5)
    for i in range(len(dp)):
        if sigma[i] > 0:  # False for NaN
            z[i] = cdf(dp[i] / sigma[i])
    return z


def buckets(volume, z, ts, V):
    cum = np.concatenate(([0.0], np.cumsum(volume)))
    count = int(cum[-1] // V)
    buy = np.zeros(count)
    sell = np.zeros(count)
    for i in range(len(volume)):
        k0 = int(cum[i] // V)
        k1 = min(int(cum[i + 1] // V), count - 1)
        for k in range(k0, k1 + 1):
            part = min(cum[i + 1], (k + 1) * V) - max(cum[i], k * V)
            if part > 0:
                buy[k] += part * z[i]
                sell[k] += part * (1.0 - z[i])
    ends = np.searchsorted(cum[1:], (np.arange(count) + 1) * V, side="left")
    return buy, sell, ts[ends]


def vpins(buy, sell, n, V):
    oi = np.abs(sell - buy)
    out = np.full(len(oi), np.nan)
    for k in range(n - 1, len(oi)):
        out[k] = oi[k - n + 1:k + 1].sum() / (n * V)
    return out


def cdfs(vpin, kind, history, min_history):
    out = np.full(len(vpin), np.nan)
    finite = [k for k in range(len(vpin)) if not math.isnan(vpin[k])]
    for pos, k in enumerate(finite):
        lo = 0 if history == 0 else max(0, pos + 1 - history)
        w = vpin[finite[lo:pos + 1]]
        if len(w) < min_history:
            continue
        v = vpin[k]
        if kind == "empirical":
            out[k] = np.mean(w <= v)
            continue
        logs = np.log(w[w > 0])
        if len(logs) < 2:
            continue
        s = np.std(logs, ddof=1)
        if not s > 0:
            continue
        out[k] = 0.0 if v <= 0 else normal_cdf((math.log(v) - logs.mean()) / s)
    return out


def alerts(cdf, threshold):
    out = np.zeros(len(cdf), dtype=bool)
    prev = math.nan
    for k, c in enumerate(cdf):
        if math.isnan(c):
            continue
        out[k] = prev < threshold <= c  # False while prev is NaN
        prev = c
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("bars")
    p.add_argument("out")
    p.add_argument("--bucket-volume", type=float, required=True)
    p.add_argument("--window", type=int, default=50)
    p.add_argument("--dp", default="close")
    p.add_argument("--sigma", default="sample")
    p.add_argument("--cdf", default="normal")
    p.add_argument("--vpin-cdf", default="empirical")
    p.add_argument("--cdf-history", type=int, default=1000)
    p.add_argument("--min-history", type=int, default=50)
    p.add_argument("--threshold", type=float, default=0.9)
    a = p.parse_args()

    opens, closes, volume, ts = read_bars(a.bars)
    dp = price_changes(opens, closes, a.dp)
    z = buy_fractions(dp, sigmas(dp, a.sigma), a.cdf)
    buy, sell, bucket_ts = buckets(volume, z, ts, a.bucket_volume)
    vpin = vpins(buy, sell, a.window, a.bucket_volume)
    cdf = cdfs(vpin, a.vpin_cdf, a.cdf_history, a.min_history)
    alert = alerts(cdf, a.threshold)
    with open(a.out, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["index", "ts", "buy", "sell", "vpin", "cdf", "alert"])
        for k in range(len(buy)):
            w.writerow([k, int(bucket_ts[k]), repr(float(buy[k])), repr(float(sell[k])),
                        repr(float(vpin[k])), repr(float(cdf[k])), int(alert[k])])
    return 0


if __name__ == "__main__":
    sys.exit(main())
