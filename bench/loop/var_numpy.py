#!/usr/bin/python3
"""The numpy anchor of the Monte Carlo VaR benchmark (bench/loop/var_bench.cpp): the textbook
Cholesky-and-multiply in numpy, over the covariance, means and positions the C++ bench generated.

    /usr/bin/python3 var_numpy.py DIR N SCENARIOS [--runs 3] [--confidence 0.99] [--block 10000]
                                  [--seed 1]

DIR holds little-endian raw float64 files: positions.f64 (N), mean.f64 (N) and cov.f64 (N*N,
row-major). Each run, timed with time.perf_counter from the Cholesky to the ES (loading the files is not):

  full       L = np.linalg.cholesky(cov); per block of scenarios Z = rng.standard_normal((B, N)),
             pnl = (mean + Z @ L.T) @ v  (the scenario matrix, a BLAS GEMM); then
             q = np.quantile(pnl, 1 - c), VaR = -q, ES = -pnl[pnl <= q].mean()
  projected  the same with w = L.T @ v once and pnl = v @ mean + Z @ w  (a GEMV a block)
  normals    rng.standard_normal into a preallocated block, alone: the floor of both

rng is numpy.random.default_rng(seed) (PCG64, ziggurat normals): other numbers than the C++
stream, so the VaRs agree statistically, not to rounding. Blocks (default 10,000 scenarios,
40 MB at N = 500) keep memory bounded as the C++ does; --block 0 draws everything at once. Each
figure is the median over --runs. Prints one line of JSON:

  {"full_seconds", "projected_seconds", "normals_seconds", "runs", "scenarios", "positions",
   "confidence", "var_full", "es_full", "var_projected", "es_projected", "sigma", "blas",
   "threads", "numpy"}

blas and threads: numpy's BLAS kernel and thread count, read as bench/models/toraniko_numpy.py
reads them (its blas_info). The C++ bench runs this with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE
unset, so that OpenBLAS picks its kernel for this CPU, as the toraniko bench does.
"""
import argparse
import json
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models"))
from toraniko_numpy import blas_info  # noqa: E402


def tail(pnl, c):
    q = np.quantile(pnl, 1 - c)
    return float(-q), float(-pnl[pnl <= q].mean())


def simulate(cov, mean, v, scenarios, block, seed, confidence, projected):
    """(seconds, VaR, ES): one timed Monte Carlo run, the quantile and ES included."""
    rng = np.random.default_rng(seed)
    n = v.shape[0]
    pnl = np.empty(scenarios)
    t0 = time.perf_counter()
    l = np.linalg.cholesky(cov)
    if projected:
        w = l.T @ v
        m = float(v @ mean)
    z = np.empty((block, n))
    for first in range(0, scenarios, block):
        rows = min(block, scenarios - first)
        zb = z[:rows]
        rng.standard_normal(out=zb)
        if projected:
            pnl[first:first + rows] = m + zb @ w
        else:
            pnl[first:first + rows] = (mean + zb @ l.T) @ v
    var, es = tail(pnl, confidence)
    return time.perf_counter() - t0, var, es


def time_normals(n, scenarios, block, seed):
    rng = np.random.default_rng(seed)
    z = np.empty((block, n))
    t0 = time.perf_counter()
    for first in range(0, scenarios, block):
        rng.standard_normal(out=z[:min(block, scenarios - first)])
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dir")
    ap.add_argument("n", type=int)
    ap.add_argument("scenarios", type=int)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--confidence", type=float, default=0.99)
    ap.add_argument("--block", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    if min(a.n, a.scenarios, a.runs) < 1 or a.block < 0:
        raise SystemExit("N, SCENARIOS and --runs must be positive, --block not negative")
    block = a.block or a.scenarios

    def load(name, count):
        path = os.path.join(a.dir, name)
        x = np.fromfile(path, dtype="<f8")
        if x.size != count:
            raise SystemExit(f"{path}: {x.size} values, want {count}")
        return x

    v = load("positions.f64", a.n)
    mean = load("mean.f64", a.n)
    cov = load("cov.f64", a.n * a.n).reshape(a.n, a.n)
    blas, threads = blas_info()

    full, projected, normals = [], [], []
    for _ in range(a.runs):
        t, var_full, es_full = simulate(cov, mean, v, a.scenarios, block, a.seed, a.confidence,
                                        projected=False)
        full.append(t)
        t, var_projected, es_projected = simulate(cov, mean, v, a.scenarios, block, a.seed,
                                                  a.confidence, projected=True)
        projected.append(t)
        normals.append(time_normals(a.n, a.scenarios, block, a.seed))
    print(json.dumps({
        "full_seconds": statistics.median(full),
        "projected_seconds": statistics.median(projected),
        "normals_seconds": statistics.median(normals),
        "runs": a.runs,
        "scenarios": a.scenarios,
        "positions": a.n,
        "confidence": a.confidence,
        "var_full": var_full,
        "es_full": es_full,
        "var_projected": var_projected,
        "es_projected": es_projected,
        "sigma": float(np.sqrt(v @ cov @ v)),
        "blas": blas,
        "threads": threads,
        "numpy": np.__version__,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
